#!/usr/bin/env python
"""Benchmark: how well, and how fast, each era classifier learns on the shared cover collection (chapter 4's comparison).

Trains each candidate with `melonpy train`'s defaults on `$MELONPY_SHARED/data/covers` (1990s/2000s/2010s, chapter 2's
leak-free split, seed 42) and measures it three ways, the honest ones first:

- **held-out sources** (`--holdout`, chapter 4's `source_holdout`): each source that mixes eras is left out of training in
  turn and tested on; pooled, beside always answering those covers' own commonest era (paired p), with macro-F1, each
  era's recall and the year error against the median training year: covers from a source the model never saw, like a user's;
- **within the sources that mix eras**: the test split's covers of those sources (`mixed_…`) and, with `--cv`, chapter 4's
  `cross_validate` (repeated grouped cross-validation, tested on the exact-year covers) on them (`cv_mixed_…`), each beside
  that set's own commonest era;
- overall: accuracy, macro-F1, each era's recall, mean era error, the paired (McNemar) p against always answering the
  training majority, year error against the median-year baseline, and train time (wall and CPU).

Candidates: an architecture name (`squeezenet1_1`, `nsfw_linear`, ...), `ARCH:year` for the linear family's
year-regression head, `ARCH@BALANCE` for the linear family trained with another `balance` (chapter 4's `cover_weights`:
`none`, `eras`, `sources`, ...), and `ens:A+B` for the average of the probabilities of two candidates listed before it.

    MELONPY_SHARED=../shared TORCH_HOME=../shared/torch_home nice python bench/accuracy.py
    ... python bench/accuracy.py --archs nsfw_lite0_linear@none,nsfw_lite0_linear@eras --cv 5x3 --holdout --csv bench/results/accuracy.csv

With `--csv` the table is written there, and the run's command, date and machine beside it (`.json`): chapter 4 reads
`bench/results/accuracy.csv` to draw its comparison. `train_s` is wall time, `train_cpu_s` the CPU time of the process (on
a machine shared with other jobs wall time grows with the load average shown in `load`).
"""
import argparse, json, os, sys, time
from pathlib import Path

def candidate(name):
    "(arch, head, balance) of a candidate name such as 'nsfw_linear:year' or 'nsfw_lite0_linear@eras' (`balance`: how covers are weighed, None for the default)."
    name, _, balance = name.partition('@')
    arch, _, head = name.partition(':')
    return arch, head or 'logistic', balance or None

def flat(prefix, d, eras):
    "`against_majority`-like dict `d` as flat columns named `prefix_...` (recalls as `prefix_recall_<era>`)."
    if not d: return {}
    out = {f'{prefix}_{k}': v for k, v in d.items() if isinstance(v, (int, float, str)) or v is None}
    out.update({f'{prefix}_recall_{e}': r for e, r in (d.get('recall') or {}).items() if e in eras})
    return out

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
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
    p.add_argument('--holdout', action='store_true', help='also hold out each source that mixes eras in turn (the linear family; --cv-all: every candidate)')
    p.add_argument('--drop-sources', default=None, metavar='NAME[,NAME]', help='leave these sources out of the collection (e.g. the K-pop ones, to see what is left)')
    p.add_argument('--csv', default=None, help='also write the table here (and the run\'s settings beside it, .json)')
    a = p.parse_args()
    from melonpy.core import shared_dir
    shared = shared_dir()
    if shared is None: sys.exit('bench/accuracy.py: set MELONPY_SHARED to the shared material folder')
    os.environ.setdefault('TORCH_HOME', str(shared/'torch_home'))
    import numpy as np, pandas as pd, torch
    if a.threads: torch.set_num_threads(a.threads)
    from melonpy.data import read_covers
    from melonpy.splits import split_covers
    from melonpy.networks import linear_family
    from melonpy.learners import train_era_model, predict_covers, era_order, mixed_sources
    from melonpy.measuring import evaluate_era_model, evaluation_covers, baseline_verdict, against_majority
    from melonpy.comparing import average_predictions, cross_validate, cv_summary, source_holdout
    t0, started = time.time(), time.strftime('%Y-%m-%d %H:%M')
    eras = a.eras.split(',')
    covers = read_covers(Path(shared)/'data'/'covers', eras=eras, quality=a.quality)
    if a.drop_sources: covers = covers[~covers.source.isin(a.drop_sources.split(','))]
    covers = split_covers(covers, seed=a.seed, progress=False)
    eras = era_order(covers)
    n = covers.split.value_counts()
    print(f'{len(covers)} covers: {n.get("train", 0)} train, {n.get("valid", 0)} valid, {n.get("test", 0)} test '
          f'(read+split {time.time() - t0:.0f}s); sources that mix eras: {", ".join(mixed_sources(covers))}; '
          f'torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}', flush=True)
    rows, learners, preds, oofs, hos = [], {}, {}, {}, {}
    fmt = lambda d: (f'accuracy {d["accuracy"]:.3f} (its commonest era {d["majority"]}: {d["baseline_accuracy"]:.3f}), macro-F1 {d["macro_f1"]:.3f} '
                     f'({d["baseline_macro_f1"]:.3f}), p {d["p_vs_baseline"]:.2g}, recall ' + ' '.join(f'{e} {r:.2f}' for e, r in d['recall'].items() if r is not None))
    def cv_row(row, oof, seconds):
        "Add the cross-validation figures of out-of-fold answers `oof` to `row`, and print them."
        s = cv_summary(oof, eras)
        row.update(cv_accuracy=s.accuracy.mean(), cv_macro_f1=s.macro_f1.mean(), cv_baseline_accuracy=s.baseline_accuracy.mean(),
                   cv_year_mae=s.year_mae.mean(), cv_baseline_year_mae=s.baseline_year_mae.mean(),
                   cv_p=float(s.p_vs_baseline.median()), cv_n=int(s.n.iloc[0]), cv_s=seconds,
                   **{f'cv_{c}': s[c].mean() for c in s.columns if c.startswith(('recall_', 'mixed_')) and c not in ('mixed_p_vs_baseline', 'mixed_majority', 'mixed_n')})
        if 'mixed_accuracy' in s:
            row.update(cv_mixed_p=float(s.mixed_p_vs_baseline.median()), cv_mixed_majority=s.mixed_majority.iloc[0], cv_mixed_n=int(s.mixed_n.iloc[0]))
        print(f'  cross-validation {folds}x{seeds} (tested on {a.cv_test} covers): accuracy {row["cv_accuracy"]:.3f} (baseline {row["cv_baseline_accuracy"]:.3f}), '
              f'macro-F1 {row["cv_macro_f1"]:.3f}, median p {row["cv_p"]:.2g}, year error {row["cv_year_mae"]:.2f} (baseline {row["cv_baseline_year_mae"]:.2f}) '
              f'({row["cv_n"]} covers per seed, {seconds}s)', flush=True)
        if 'mixed_accuracy' in s:
            print(f'  ... on the {row["cv_mixed_n"]} covers of sources that mix eras: accuracy {row["cv_mixed_accuracy"]:.3f} (their commonest era '
                  f'{row["cv_mixed_majority"]}: {row["cv_mixed_baseline_accuracy"]:.3f}), macro-F1 {row["cv_mixed_macro_f1"]:.3f} ({row["cv_mixed_baseline_macro_f1"]:.3f}), '
                  f'median p {row["cv_mixed_p"]:.2g}, recall ' + ' '.join(f'{e} {row[f"cv_mixed_recall_{e}"]:.2f}' for e in eras), flush=True)
    def ho_row(row, ho, seconds):
        "Add the held-out-source figures of `source_holdout`'s answers `ho` to `row`, and print them."
        d = against_majority(ho.era, ho.pred, eras)
        row.update(flat('ho', d, eras), ho_year_mae=float((ho.pred_year - ho.true_year).abs().mean()),
                   ho_baseline_year_mae=float((ho.median_year - ho.true_year).abs().mean()), ho_s=seconds)
        print(f'  held-out sources ({", ".join(dict.fromkeys(ho.fold))}; {d["n"]} covers): {fmt(d)}, year error {row["ho_year_mae"]:.2f} '
              f'(median training year {row["ho_baseline_year_mae"]:.2f}) ({seconds}s)', flush=True)
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
            arch, head, balance = candidate(name)
            learn = train_era_model(covers, eras=None, arch=arch, head=head, size=a.size, epochs=a.epochs, freeze_epochs=a.freeze_epochs,
                                    lr=a.lr, seed=a.seed, quiet=True, **({'balance': balance} if balance else {}))
            t_train, c_train = time.time() - t, time.process_time() - c
            learners[name] = learn
            preds[name] = predict_covers(learn, evaluation_covers(learn, covers).file.tolist())
        r = evaluate_era_model(learn, covers, preds=preds[name])
        row = dict(model=name, **{k: v for k, v in r.items() if k not in ('model', 'majority') and not isinstance(v, (pd.DataFrame, dict, list, tuple))},
                   **{f'recall_{e}': v for e, v in r['recall'].items()}, **flat('mixed', r.get('mixed'), eras),
                   year_mae_diff_lo=r['year_mae_diff_ci'][0], year_mae_diff_hi=r['year_mae_diff_ci'][1],
                   train_s=round(t_train) if t_train == t_train else None, train_cpu_s=round(c_train) if c_train == c_train else None, load=round((load0 + os.getloadavg()[0]) / 2, 1))
        print(f'{name}: accuracy {r["accuracy"]:.3f} (baseline {r["baseline_accuracy"]:.3f}), macro-F1 {r["macro_f1"]:.3f}, '
              f'era error {r["era_mae"]:.3f}, year error {r["year_mae"]:.2f} (baseline {r["baseline_year_mae"]:.2f}, difference 95% '
              f'[{r["year_mae_diff_ci"][0]:+.2f}, {r["year_mae_diff_ci"][1]:+.2f}]), {baseline_verdict(r["p_vs_baseline"])}, recall '
              + ' '.join(f'{e} {v:.2f}' for e, v in r['recall'].items()) + f', trained in {t_train:.0f}s wall ({c_train:.0f}s CPU)', flush=True)
        if r.get('mixed'): print(f'  test covers of sources that mix eras ({r["mixed"]["n"]}): {fmt(r["mixed"])}', flush=True)
        linear = not name.startswith('ens:') and (a.cv_all or candidate(name)[0] in linear_family)
        kw = lambda: dict(head=head, size=a.size, epochs=a.epochs, freeze_epochs=a.freeze_epochs, lr=a.lr, **({'balance': balance} if balance else {}))
        if name.startswith('ens:') and all(m in hos for m in members):      # the members' held-out answers, averaged
            hos[name] = _average(hos, members, np)
            ho_row(row, hos[name], 0)
        elif a.holdout and linear:
            t = time.time()
            hos[name] = source_holdout(covers, arch, seed=a.seed, progress=False, **kw())
            ho_row(row, hos[name], round(time.time() - t))
        if folds and name.startswith('ens:') and all(m in oofs for m in members):   # the members' out-of-fold answers, averaged
            oofs[name] = _average(oofs, members, np)
            cv_row(row, oofs[name], 0)
        elif folds and linear:
            t = time.time()
            oofs[name] = cross_validate(covers, arch, folds=folds, seeds=tuple(range(seeds)), test_quality=None if a.cv_test == 'all' else a.cv_test,
                                        progress=False, **kw())
            cv_row(row, oofs[name], round(time.time() - t))
        rows.append(row)
    df = pd.DataFrame(rows).set_index('model').round(4)
    print(f'\nsize {a.size or "default_size"}, {a.freeze_epochs} head + {a.epochs} full epochs for networks, test n={n.get("test", 0)}, majority era {r["majority"]}')
    cols = ['model', *df.columns]
    print('| ' + ' | '.join(cols) + ' |\n|' + '---|' * len(cols))
    for m, r in df.iterrows(): print('| ' + ' | '.join([m, *[f'{v:g}' if isinstance(v, float) else str(v) for v in r]]) + ' |')
    if a.csv:
        Path(a.csv).parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(a.csv)
        Path(a.csv).with_suffix('.json').write_text(json.dumps(dict(
            command='python bench/accuracy.py ' + ' '.join(sys.argv[1:]), started=started, seconds=round(time.time() - t0), eras=eras,
            covers={k: int(v) for k, v in n.items()}, mixed_sources=mixed_sources(covers), cpus=os.cpu_count(), load_average=round(os.getloadavg()[0], 1)), indent=1) + '\n')

def _average(answers, members, np):
    "The out-of-fold (or held-out) answers of an ensemble: its members' probabilities, averaged, on the same covers."
    from melonpy.comparing import average_predictions
    first = answers[members[0]]
    avg = average_predictions(*[o.assign(error='') for o in (answers[m] for m in members)])
    out = first.assign(pred=avg.pred.to_numpy(), **{c: avg[c].to_numpy() for c in avg if c.startswith('prob_')})
    out['pred_year'] = np.mean([answers[m].pred_year.to_numpy() for m in members], axis=0)
    return out

if __name__ == '__main__': main()
