"""How far a photo grade can go (chapter 7, issue 28): the era grade fitted against each judge itself, then judged by it.

A grade fitted against a classifier is no fair test for that classifier; this bench does it on purpose, to measure the
route's reach. If even the grade fitted to make *this* judge say the era, judged by it on covers no fit used, falls
short of a goal, no fit of the grade will meet that goal with a judge that never took part.

- **judges**, each judged on covers it and no fit saw: the default classifier (`nsfw_lite0_linear`) and the validation
  judge (`nsfw_linear`, seed 2) on `grade_selection.py`'s validation covers; the independent judge of
  `style_routes.py` (`era_judge`, EfficientNet-Lite2) on that bench's own covers.
- **grades**, both fitted on the same covers (every cover but the judged ones and the ones `style_routes.py` draws
  from), both by the default route's objective (the versions compared, the statistics brake, SSIM kept above
  `grade_floor`): `default`, the default route (`era_grade`: a probe on Lite0 features, `grade_steps` steps), and
  `fitted to judge`, the same fit asking the judge itself (`era_grade(model=judge)`, `--steps` steps: more, since
  it is a ceiling).

Per judge, grade and target era: identified (the target's version, among the cover's three, is the one the judge finds
most like the era), P(target) rises, SSIM. Results: bench/results/grade_ceiling.csv and .json.

    MELONPY_SHARED=../shared nice python bench/grade_ceiling.py
"""
import argparse, json, sys, time
from pathlib import Path
import pandas as pd, torch
from melonpy.core import sample_covers, default_eras
from melonpy.data import cache_dir
from melonpy.gatys import image_tensor
from melonpy.grade import era_grade, ssim
sys.path.insert(0, str(Path(__file__).parent))
from style_routes import judge_versions, run_meta
from grade_selection import bench_covers

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--judges', default='default,validation,test', help='among default, validation, test')
    p.add_argument('--steps', type=int, default=120, help="Adam steps of the fit against a judge (the default route's: 40)")
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--size', type=int, default=256)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--out', default=str(Path(__file__).parent/'results'/'grade_ceiling'))
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    covers, eras, t0 = sample_covers(), list(default_eras), time.time()
    _, learn, judge, vj, contents, three, other, exclude = bench_covers(covers, eras, cache_dir()/'bench-style-judges')   # as grade_selection.py: its default grade is read from its cache
    sets = dict(default=(learn, three + other), validation=(vj, three + other), test=(judge, [f for f, _ in contents]))
    rows, fits = [], {}
    for name in a.judges.split(','):
        model, files = sets[name]
        xs = [image_tensor(f, a.size) for f in files]
        for grade in ('default', 'fitted to judge'):
            t = time.time()
            kw = dict(model=model, steps=a.steps, cache=cache_dir()/'bench-grade-ceiling') if grade != 'default' else dict(cache=cache_dir()/'bench-grade-selection')
            g = era_grade(covers, eras, exclude=exclude, seed=a.seed, progress=True, **kw)
            fits[f'{name}, {grade}'] = round(time.time() - t, 1)
            for f, x in zip(files, xs):
                ims = {e: g.apply(x, e) for e in eras}
                for r in judge_versions(f, ims, dict(judge=model)):
                    rows.append(dict(judge=name, grade=grade, content=Path(f).name, **r, ssim=ssim(image_tensor(ims[r['target']]), x)))
            print(f'{name}, {grade}: fit {fits[f"{name}, {grade}"]:.0f}s', flush=True)
    raw = pd.DataFrame(rows)
    tab = (raw.assign(rise=raw.p1_judge > raw.p0_judge).groupby(['judge', 'grade', 'target'], sort=False)
              .agg(covers=('content', 'nunique'), identified=('id_judge', 'mean'), rises=('rise', 'mean'), ssim=('ssim', 'mean')).reset_index())
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    tab.round(4).to_csv(out.with_suffix('.csv'), index=False)
    out.with_suffix('.json').write_text(json.dumps(run_meta(__file__, argv, threads=a.threads, size=a.size,
        steps=a.steps, seed=a.seed, fit_s=fits, seconds=round(time.time() - t0)), indent=1))
    print(tab.round(2).to_string(index=False))

if __name__ == '__main__': main()
