#!/usr/bin/env python
"""Benchmark: how well, and how fast, each era classifier learns on the shared cover collection (issue 19's comparison).

Trains each candidate with `melonpy train`'s defaults on `$MELONPY_SHARED/data/covers` (1990s/2000s/2010s, chapter 2's
leak-free split, seed 42) and measures it on the test split: accuracy, macro-F1, mean era error, the paired
(McNemar) p against always answering the majority era, year error against the median-year baseline when chapter 4
reports it, and train time (wall and CPU). With `--cv FOLDSxSEEDS` it also runs chapter 4's `cross_validate`
(repeated grouped cross-validation, tested on the exact-year covers) for the linear family (`--cv-all`: every
candidate; a fine-tuned network costs its training time per fold).

Candidates: an architecture name (`squeezenet1_1`, `nsfw_linear`, ...), `ARCH:year` for the linear family's
year-regression head, and `ens:A+B` for the average of the probabilities of two candidates listed before it.

    MELONPY_SHARED=../shared TORCH_HOME=../shared/torch_home nice python bench/accuracy.py
    ... python bench/accuracy.py --archs squeezenet1_1,nsfw_linear,nsfw_linear:year,lite0_linear,ens:squeezenet1_1+nsfw_linear --cv 5x3 --threads 2

Goal (issue 19): the default beats the majority baseline with p < 0.01 on the test split and in cross-validation,
and trains in at most 5 minutes here. `train_s` is wall time, `train_cpu_s` the CPU time of the process (on a machine
shared with other jobs wall time grows with the load average shown in `load`).
"""
import argparse, os, sys, time
from pathlib import Path

def candidate(name):
    "(arch, head) of a candidate name such as 'nsfw_linear:year'."
    arch, _, head = name.partition(':')
    return arch, head or 'logistic'

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--archs', default='nsfw_lite0_linear', help='comma-separated candidates (default: %(default)s, the default of melonpy train)')
    p.add_argument('--eras', default='1990s,2000s,2010s')
    p.add_argument('--size', type=int, default=None, help="image side (default: each architecture's, `default_size`)")
    p.add_argument('--epochs', type=int, default=2, help='epochs of the whole network (default: %(default)s)')
    p.add_argument('--freeze-epochs', type=int, default=3, help='head-only epochs first (pretrained); scratch models train epochs+freeze-epochs')
    p.add_argument('--threads', type=int, default=None, help='torch threads (default: torch decides; 1 is faster on a busy machine)')
    p.add_argument('--quality', default=None, choices=[None, 'exact'])
    p.add_argument('--lr', type=float, default=None)
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--cv', default=None, metavar='FOLDSxSEEDS', help='also cross-validate, e.g. 5x3')
    p.add_argument('--cv-all', action='store_true', help='cross-validate the fine-tuned networks too (slow)')
    p.add_argument('--cv-test', default='exact', help="label_quality of the covers cross-validation tests on, or 'all' (default: %(default)s)")
    p.add_argument('--drop-sources', default=None, metavar='NAME[,NAME]', help='leave these sources out of the collection (e.g. the K-pop ones, to see what is left)')
    p.add_argument('--csv', default=None, help='also write the table here')
    a = p.parse_args()
    from melonpy.core import shared_dir
    shared = shared_dir()
    if shared is None: sys.exit('bench/accuracy.py: set MELONPY_SHARED to the shared material folder')
    os.environ.setdefault('TORCH_HOME', str(shared/'torch_home'))
    import numpy as np, pandas as pd, torch
    if a.threads: torch.set_num_threads(a.threads)
    from melonpy.data import read_covers, split_covers
    from melonpy.models import (train_era_model, evaluate_era_model, evaluation_covers, predict_covers, baseline_verdict,
                                average_predictions, cross_validate, cv_summary, linear_family, era_order)
    t0 = time.time()
    eras = a.eras.split(',')
    covers = read_covers(Path(shared)/'data'/'covers', eras=eras, quality=a.quality)
    if a.drop_sources: covers = covers[~covers.source.isin(a.drop_sources.split(','))]
    covers = split_covers(covers, seed=a.seed, progress=False)
    eras = era_order(covers)
    n = covers.split.value_counts()
    print(f'{len(covers)} covers: {n.get("train", 0)} train, {n.get("valid", 0)} valid, {n.get("test", 0)} test '
          f'(read+split {time.time() - t0:.0f}s); torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}', flush=True)
    rows, learners, preds, oofs = [], {}, {}, {}
    def cv_row(row, oof, seconds):
        "Add the cross-validation figures of out-of-fold answers `oof` to `row`, and print them."
        s = cv_summary(oof, eras)
        row.update(cv_accuracy=s.accuracy.mean(), cv_macro_f1=s.macro_f1.mean(), cv_baseline_accuracy=s.baseline_accuracy.mean(),
                   cv_year_mae=s.year_mae.mean(), cv_baseline_year_mae=s.baseline_year_mae.mean(),
                   cv_p=float(s.p_vs_baseline.median()), cv_n=int(s.n.iloc[0]), cv_s=seconds)
        print(f'  cross-validation {folds}x{seeds} (tested on {a.cv_test} covers): accuracy {row["cv_accuracy"]:.3f} (baseline {row["cv_baseline_accuracy"]:.3f}), '
              f'macro-F1 {row["cv_macro_f1"]:.3f}, median p {row["cv_p"]:.2g}, year error {row["cv_year_mae"]:.2f} (baseline {row["cv_baseline_year_mae"]:.2f}) '
              f'({row["cv_n"]} covers per seed, {seconds}s)', flush=True)
    folds, seeds = (int(v) for v in a.cv.lower().split('x')) if a.cv else (0, 0)
    for name in a.archs.split(','):
        load0, t, c = os.getloadavg()[0], time.time(), time.process_time()
        if name.startswith('ens:'):
            members = name[4:].split('+')
            missing = [m for m in members if m not in learners]
            if missing: sys.exit(f'{name}: list {", ".join(missing)} before the ensemble')
            learn = learners[members[0]]
            preds[name] = average_predictions(*[preds[m] for m in members])
            t_train = c_train = float('nan')
        else:
            arch, head = candidate(name)
            learn = train_era_model(covers, eras=None, arch=arch, head=head, size=a.size, epochs=a.epochs,
                                    freeze_epochs=a.freeze_epochs, lr=a.lr, seed=a.seed, quiet=True)
            t_train, c_train = time.time() - t, time.process_time() - c
            learners[name] = learn
            preds[name] = predict_covers(learn, evaluation_covers(learn, covers).file.tolist())
        r = evaluate_era_model(learn, covers, preds=preds[name])
        row = dict(model=name, **{k: v for k, v in r.items() if k not in ('model', 'majority') and not isinstance(v, (pd.DataFrame, dict, list, tuple))},
                   year_mae_diff_lo=r['year_mae_diff_ci'][0], year_mae_diff_hi=r['year_mae_diff_ci'][1],
                   train_s=round(t_train) if t_train == t_train else None, train_cpu_s=round(c_train) if c_train == c_train else None, load=round((load0 + os.getloadavg()[0]) / 2, 1))
        print(f'{name}: accuracy {r["accuracy"]:.3f} (baseline {r["baseline_accuracy"]:.3f}), macro-F1 {r["macro_f1"]:.3f}, '
              f'era error {r["era_mae"]:.3f}, year error {r["year_mae"]:.2f} (baseline {r["baseline_year_mae"]:.2f}, difference 95% '
              f'[{r["year_mae_diff_ci"][0]:+.2f}, {r["year_mae_diff_ci"][1]:+.2f}]), {baseline_verdict(r["p_vs_baseline"])}, '
              f'trained in {t_train:.0f}s wall ({c_train:.0f}s CPU)', flush=True)
        if folds and name.startswith('ens:') and all(m in oofs for m in members):   # the members' out-of-fold answers, averaged
            first = oofs[members[0]]
            avg = average_predictions(*[o.assign(error='') for o in (oofs[m] for m in members)])
            oofs[name] = first.assign(pred=avg.pred.to_numpy(), **{c: avg[c].to_numpy() for c in avg if c.startswith('prob_')})
            oofs[name]['pred_year'] = np.mean([oofs[m].pred_year.to_numpy() for m in members], axis=0)
            cv_row(row, oofs[name], 0)
        elif folds and not name.startswith('ens:') and (a.cv_all or candidate(name)[0] in linear_family):
            t = time.time()
            arch, head = candidate(name)
            oofs[name] = cross_validate(covers, arch, folds=folds, seeds=tuple(range(seeds)), head=head, size=a.size,
                                        test_quality=None if a.cv_test == 'all' else a.cv_test,
                                        epochs=a.epochs, freeze_epochs=a.freeze_epochs, lr=a.lr, progress=False)
            cv_row(row, oofs[name], round(time.time() - t))
        rows.append(row)
    df = pd.DataFrame(rows).set_index('model').round(4)
    print(f'\nsize {a.size or "default_size"}, {a.freeze_epochs} head + {a.epochs} full epochs for networks, test n={n.get("test", 0)}, majority era {r["majority"]}')
    cols = ['model', *df.columns]
    print('| ' + ' | '.join(cols) + ' |\n|' + '---|' * len(cols))
    for m, r in df.iterrows(): print('| ' + ' | '.join([m, *[f'{v:g}' if isinstance(v, float) else str(v) for v in r]]) + ' |')
    if a.csv: df.to_csv(a.csv)

if __name__ == '__main__': main()
