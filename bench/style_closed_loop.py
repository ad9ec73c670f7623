"""Closed loop for chapter 7: does stylising a cover toward era E raise the chapter-4 classifier's P(E)?

Content covers come from eras the classifier was NOT trained on (default 1970s, 1980s, 2020s), so none of them was
seen in training and each is "from another era" for every target E. Each cover is stylised toward every era the
model knows (`style_transfer(..., era=E)`, era statistics from the same collection), and the model's P(E) is read
before and after with chapter 4's `predict_covers` (through `era_probabilities`).

    MELONPY_SHARED=../shared nice python bench/style_closed_loop.py --model era.safetensors      # a model from `melonpy train`
    MELONPY_SHARED=../shared nice python bench/style_closed_loop.py                      # trains chapter 4's default model first
"""
import argparse, os, time
from pathlib import Path
import numpy as np, pandas as pd, torch
from melonpy.core import sample_covers
from melonpy.data import read_covers
from melonpy.style import VGGFeatures, style_transfer, era_probabilities


def load_avg(): return ' '.join(f'{x:.2f}' for x in os.getloadavg())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', default=None, help='cover collection (default: $MELONPY_DATA or the shared one)')
    p.add_argument('--model', default=None, help='classifier from `melonpy train` (default: train one now)')
    p.add_argument('--save-model', default=None, help='where to save the model trained here')
    p.add_argument('--covers', type=int, default=21, help='content covers (default: %(default)s)')
    p.add_argument('--content-eras', default='1970s,1980s,2020s')
    p.add_argument('--size', type=int, default=128)
    p.add_argument('--steps', type=int, default=60, help='style_transfer steps (default: %(default)s, its default)')
    p.add_argument('--style-weight', type=float, default=5.)
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--csv', default=None, help='write the per-cover table here')
    a = p.parse_args(argv)
    if a.threads: torch.set_num_threads(a.threads)
    from melonpy.models import load_era_model, train_era_model, export_era_model, evaluate_era_model
    covers = Path(a.data) if a.data else sample_covers()
    t0 = time.time()
    if a.model: learn = load_era_model(a.model)
    else:
        learn = train_era_model(covers, size=128, epochs=3, quiet=True)
        res = evaluate_era_model(learn)
        print(f'# trained the default classifier in {time.time() - t0:.0f}s: test accuracy {res["accuracy"]:.3f} '
              f'(baseline {res["baseline_accuracy"]:.3f})', flush=True)
        if a.save_model: export_era_model(learn, a.save_model)
    eras = [str(v) for v in learn.dls.vocab]
    df = read_covers(covers, eras=a.content_eras.split(','))
    contents = df.sample(min(a.covers, len(df)), random_state=0).file.tolist()
    net = VGGFeatures()
    print(f'# {len(contents)} covers from {a.content_eras} toward {eras} at {a.size}px, {a.steps} steps, '
          f'torch threads {torch.get_num_threads()}, load average {load_avg()}', flush=True)
    rows = []
    for f in contents:
        for e in eras:
            im = style_transfer(f, era=e, covers=covers, size=a.size, steps=a.steps, style_weight=a.style_weight, net=net, progress=False)
            p0, p1 = era_probabilities(learn, [f, im], e)
            rows.append(dict(cover=Path(f).name, target=e, before=float(p0), after=float(p1)))
        print(f'{Path(f).name}: ' + ', '.join(f'P({r["target"]}) {r["before"]:.2f}->{r["after"]:.2f}' for r in rows[-len(eras):]), flush=True)
    t = pd.DataFrame(rows).assign(change=lambda d: d.after - d.before)
    if a.csv: t.to_csv(a.csv, index=False)
    per = t.groupby('target').agg(n=('change', 'size'), mean_before=('before', 'mean'), mean_after=('after', 'mean'),
                                  mean_change=('change', 'mean'), rises=('change', lambda c: int((c > 0).sum())))
    print(per.round(3).to_string())
    print(f'SUMMARY {len(contents)} covers x {len(eras)} eras = {len(t)} transfers at {a.size}px: mean change of P(E) '
          f'{t.change.mean():+.3f} (before {t.before.mean():.3f}, after {t.after.mean():.3f}); P(E) rose in '
          f'{(t.change > 0).sum()}/{len(t)} ({(t.change > 0).mean():.0%}); {time.time() - t0:.0f}s; load average {load_avg()}')


if __name__ == '__main__': main()
