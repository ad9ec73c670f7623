"""Choosing how the era grade is fitted without the test judge's help (chapter 7a, issue 28).

`bench/style_routes.py` judges the routes with the default classifier and the independent judge (`era_judge`,
EfficientNet-Lite2); choosing a fit by those numbers would make the judge a fitter. This bench chooses on other
covers with another judge, so that the test stays a test:

- **validation covers**: covers of the three eras that neither the default classifier nor the validation judge trained
  on, and covers of other decades the validation judge never saw (nor near copies), none of them among the covers
  `style_routes.py` judges (nor the 160 it draws those from), and none in any grade's fit;
- **validation judge**: `era_judge` on open_nsfw's ResNet-50 features (`nsfw_linear`, seed 2): a third family, neither
  the probe's EfficientNet-Lite0 nor the test judge's Lite2;
- **variants** (`--crops`, `--floors`): the grade fitted with the probe seeing random crops of `crop` to all of the side
  (`diverse_probe`) or the whole picture (`none`), and with SSIM kept above `floor` (`grade_floor`); each combination
  with several `--seeds`.

For each variant, seed and target era it reports identified and P(target) rises by the default classifier and by the
validation judge, SSIM and spread, and `score`: per era, the worst of those four shares, averaged over the eras (the
goals of issue 28 ask each of them to be high for every era). Results: bench/results/grade_selection.csv and .json
(`--out`: the crops' run is kept there, the floors' in grade_selection_floor.*).

    MELONPY_SHARED=../shared nice python bench/grade_selection.py --crops none,0.8 --floors 0.7 --seeds 0,1,2,3,4
    MELONPY_SHARED=../shared nice python bench/grade_selection.py --crops 0.8 --floors 0.7,0.8,0.85 --seeds 0,1,2,3,4 --out bench/results/grade_selection_floor
"""
import argparse, itertools, json, os, sys, time
from pathlib import Path
import numpy as np, pandas as pd, torch
from melonpy.core import sample_covers, default_eras
from melonpy.data import read_covers, cache_dir
from melonpy.models import era_judge, export_era_model, load_era_model, predict_covers
from melonpy.gatys import image_tensor
from melonpy.grade import era_grade, era_sample, ssim
sys.path.insert(0, str(Path(__file__).parent))
from style_routes import judges, judged_covers, judge_versions, other_decades, run_meta, spread_of

def validation(covers, df, eras, learn, avoid:set, folder:Path, n_other:int=48):
    "The validation judge (trained once on collection `covers`, kept in `folder`) and the validation covers of its table `df`, none of `avoid`: (three-era files, other-decade files)."
    path, vpath = folder/'validation.safetensors', folder/'validation_covers.json'
    if not path.exists(): export_era_model(era_judge(covers, arch='nsfw_linear', seed=2), path)
    vj = load_era_model(path)
    if not vpath.exists():
        other = other_decades(df, eras)
        three = sorted(set(df[df.era.isin(eras)].file.astype(str)) - avoid)
        fresh = ~np.any([predict_covers(m, three).seen.fillna(False).to_numpy(bool) for m in (learn, vj)], axis=0)
        cand = [f for f in other.file.astype(str) if f not in avoid][:5 * n_other]
        unseen = ~predict_covers(vj, cand).seen.fillna(False).to_numpy(bool)
        vpath.write_text(json.dumps(dict(three=[f for f, k in zip(three, fresh) if k], other=[f for f, k in zip(cand, unseen) if k][:n_other])))
    v = json.loads(vpath.read_text())
    return vj, v['three'], v['other']

def bench_covers(covers, eras, folder:Path):
    "What the grade benches judge with and on, from collection `covers` (judges kept in `folder`): its table, the default classifier, the test judge, the validation judge, `style_routes.py`'s covers ((file, era), its defaults), the validation covers (three eras, other decades), and the covers no grade may be fitted on (all of those, and the ones `style_routes.py` draws from)."
    learn, judge, held = judges(covers, folder)
    df = read_covers(covers)
    contents = judged_covers(df, eras, held, judge, 8, 40)
    tested = set(held) | {f for f, _ in contents} | set(other_decades(df, eras, 40).file.astype(str))
    vj, three, other = validation(covers, df, eras, learn, tested, folder)
    return df, learn, judge, vj, contents, three, other, tested | set(three) | set(other)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--crops', default='0.8', help="crops to try, 'none' for the whole picture")
    p.add_argument('--floors', default='0.7,0.8,0.85', help='SSIM floors to try')
    p.add_argument('--seeds', default='0,1,2', help='fit seeds')
    p.add_argument('--size', type=int, default=256)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--out', default=str(Path(__file__).parent/'results'/'grade_selection'))
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    covers, eras, t0 = sample_covers(), list(default_eras), time.time()
    df, learn, _, vj, _, three, other, exclude = bench_covers(covers, eras, cache_dir()/'bench-style-judges')   # the test judge only tells which covers style_routes.py judges: it judges nothing here
    files = three + other
    assert not set(era_sample(covers, eras, exclude=exclude).file.astype(str)) & exclude
    print(f'# validation: {len(three)} covers of the three eras, {len(other)} of other decades; load {os.getloadavg()[0]:.2f}', flush=True)
    xs = [image_tensor(f, a.size) for f in files]
    era_of = dict(zip(df.file.astype(str), df.era))
    rows, fits = [], {}
    shares = lambda r: pd.Series(dict(id_default=r.id_default.mean(), id_validation=r.id_validation.mean(), rise_default=(r.p1_default > r.p0_default).mean(),
                                      rise_validation=(r.p1_validation > r.p0_validation).mean(), ssim=r.ssim.mean(), spread=r.spread.mean()))
    for crop, floor, seed in itertools.product(a.crops.split(','), map(float, a.floors.split(',')), map(int, a.seeds.split(','))):
        name = f'crop {crop} floor {floor} seed {seed}'
        t = time.time()
        g = era_grade(covers, eras, exclude=exclude, seed=seed, crop=None if crop == 'none' else float(crop), floor=floor, cache=cache_dir()/'bench-grade-selection')
        fits[name], new = round(time.time() - t, 1), []
        for f, x in zip(files, xs):
            ims = {e: g.apply(x, e) for e in eras}
            vs = {e: image_tensor(im) for e, im in ims.items()}
            spread = spread_of(list(vs.values()), x)
            for r in judge_versions(f, ims, dict(default=learn, validation=vj)):
                new.append(dict(crop=crop, floor=floor, seed=seed, content=Path(f).name, group='three eras' if era_of[f] in eras else 'other decades', **r, spread=spread, ssim=ssim(vs[r['target']], x)))
        rows += new
        r = shares(pd.DataFrame(new))
        print(f'{name}: id {r.id_default:.2f}/{r.id_validation:.2f}  rise {r.rise_default:.2f}/{r.rise_validation:.2f}  ssim {r.ssim:.2f}  fit {fits[name]:.0f}s  load {os.getloadavg()[0]:.2f}', flush=True)
    raw = pd.DataFrame(rows)
    per = raw.groupby(['crop', 'floor', 'seed', 'target'], sort=False).apply(shares).reset_index()
    per['worst'] = per[['id_default', 'id_validation', 'rise_default', 'rise_validation']].min(axis=1)
    tab = per.groupby(['crop', 'floor', 'seed'], sort=False).agg(score=('worst', 'mean'), worst_era=('worst', 'min'), id_default=('id_default', 'mean'), id_validation=('id_validation', 'mean'),
                                                         rise_default=('rise_default', 'mean'), rise_validation=('rise_validation', 'mean'), ssim=('ssim', 'mean')).reset_index()
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    per.round(4).to_csv(out.with_suffix('.csv'), index=False)
    out.with_suffix('.json').write_text(json.dumps(run_meta(__file__, argv, threads=a.threads, size=a.size,
        validation_covers=dict(three_eras=len(three), other_decades=len(other)), fit_s=fits, seconds=round(time.time() - t0)), indent=1))
    print(tab.round(2).to_string(index=False))
    print(tab.groupby(['crop', 'floor'], sort=False)[['score', 'worst_era']].mean().round(2).to_string())

if __name__ == '__main__': main()
