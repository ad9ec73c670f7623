"""How clearly the judges see the era of real covers: the reference for what the era grade's numbers mean (chapter 7, issue 28).

`bench/style_routes.py` asks a judge to pick out, among one cover's three versions, the one graded toward an era
(`id_*`). This bench asks the same judges the same question of real covers: among three real covers, one of each era,
that the judge never saw (nor near copies: `predict_covers`' `seen`), is the one with the highest P(era) the cover of
that era? It counts every such triple exactly (for each cover of the era, the share of the other eras' covers whose
P(era) is lower, multiplied), with a 95 % bootstrap interval over the covers. Chance is 1/3. Also: the share of pairs
(a cover of the era, one of another era) in which the era's cover has the higher P(era) (chance 1/2), and the share of
the era's covers the judge calls that era.

Judges: the default classifier and the test judge of `style_routes.py`, the validation judge of `grade_selection.py`.
Results: bench/results/era_reference.csv and .json.

    MELONPY_SHARED=../shared nice python bench/era_reference.py
"""
import argparse, json, sys, time
from pathlib import Path
import numpy as np, pandas as pd, torch
from melonpy.core import sample_covers, default_eras
from melonpy.data import cache_dir
from melonpy.models import predict_covers
sys.path.insert(0, str(Path(__file__).parent))
from style_routes import run_meta
from grade_selection import bench_covers

def picked(p:dict, era:str) -> tuple:
    "For {era: P(`era`) of that era's covers}: the share of triples (one cover per era) whose `era` cover has the highest P(`era`), and the share of pairs (an `era` cover, another era's) whose `era` cover has the higher."
    below = [np.searchsorted(np.sort(v), p[era]) / len(v) for k, v in p.items() if k != era]   # for each cover of `era`, the share of each other era's covers below it
    return float(np.mean(np.prod(below, axis=0))), float(np.mean(np.concatenate(below)))

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--boot', type=int, default=1000, help='bootstrap resamples for the intervals')
    ap.add_argument('--out', default=str(Path(__file__).parent/'results'/'era_reference'))
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    covers, eras, t0 = sample_covers(), list(default_eras), time.time()
    df, learn, judge, vj, *_ = bench_covers(covers, eras, cache_dir()/'bench-style-judges')
    d = df[df.era.isin(eras)]
    files, era_of, rng, rows = d.file.astype(str).tolist(), d.era.astype(str).to_numpy(), np.random.default_rng(0), []
    for name, m in dict(default=learn, test=judge, validation=vj).items():
        pr = predict_covers(m, files)
        assert pr.seen.notna().all(), f'the {name} judge does not know which covers it was trained on: it cannot be judged on unseen ones'
        unseen = ~pr.seen.to_numpy(bool)
        for e in eras:
            p = {k: pr[f'prob_{e}'].to_numpy()[unseen & (era_of == k)] for k in eras}
            triple, pair = picked(p, e)
            boot = np.array([picked({k: rng.choice(v, len(v)) for k, v in p.items()}, e) for _ in range(a.boot)])
            called = pr[[f'prob_{k}' for k in eras]].to_numpy()[unseen & (era_of == e)].argmax(1) == eras.index(e)
            rows.append(dict(judge=name, target=e, covers=len(p[e]), identified=triple, identified_lo=np.quantile(boot[:, 0], .025), identified_hi=np.quantile(boot[:, 0], .975),
                             pairs=pair, called=called.mean()))
            print(f'{name:10} {e}: among three real covers, picks the {e} one {triple:.2f} [{rows[-1]["identified_lo"]:.2f}, {rows[-1]["identified_hi"]:.2f}] '
                  f'(chance 0.33); pairs {pair:.2f}; calls {called.mean():.2f} of its {len(p[e])} covers {e}', flush=True)
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).round(4).to_csv(out.with_suffix('.csv'), index=False)
    out.with_suffix('.json').write_text(json.dumps(run_meta(__file__, argv, boot=a.boot, seconds=round(time.time() - t0)), indent=1))

if __name__ == '__main__': main()
