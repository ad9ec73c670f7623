#!/usr/bin/env python
"""Benchmark: how well, and how fast, the era classifier learns on the shared cover collection.

Trains each architecture (default: only the default model, `melonpy train`'s settings) on
`$MELONPY_SHARED/data/covers` for 1990s/2000s/2010s with chapter 2's leak-free split, and prints test accuracy,
macro-F1, mean era error, the majority baseline and wall time as a Markdown table (also written with --csv).

    MELONPY_SHARED=../shared TORCH_HOME=../shared/torch_home nice python bench/accuracy.py
    ... python bench/accuracy.py --archs dnn,cnn,cnn_bn,squeezenet1_1,vgg16 --csv bench/accuracy.csv

Goal: test accuracy well above the majority baseline with <= 5 minutes of CPU training. `p_vs_baseline` is the
one-sided paired (McNemar) p-value of beating the baseline on the same test covers: below 0.05 is beyond chance. `train_s` is wall time,
`train_cpu_s` the CPU time of all the process's threads (on a machine shared with other jobs, wall time grows
with the load average shown in `load`; 2 threads busy for 150 s = 300 CPU-seconds).
"""
import argparse, os, sys, time
from pathlib import Path

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--archs', default='squeezenet1_1', help='comma-separated architectures (default: %(default)s)')
    p.add_argument('--eras', default='1990s,2000s,2010s')
    p.add_argument('--size', type=int, default=128)
    p.add_argument('--epochs', type=int, default=2, help='epochs of the whole network (default: %(default)s)')
    p.add_argument('--freeze-epochs', type=int, default=3, help='head-only epochs first (pretrained); scratch models train epochs+freeze-epochs')
    p.add_argument('--threads', type=int, default=None, help='torch threads (default: torch decides; 1 is faster on a busy machine)')
    p.add_argument('--quality', default=None, choices=[None, 'exact'])
    p.add_argument('--lr', type=float, default=None)
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--csv', default=None, help='also write the table here')
    a = p.parse_args()
    from melonpy.core import shared_dir
    shared = shared_dir()
    if shared is None: sys.exit('bench/accuracy.py: set MELONPY_SHARED to the shared material folder')
    os.environ.setdefault('TORCH_HOME', str(shared/'torch_home'))
    import pandas as pd, torch
    if a.threads: torch.set_num_threads(a.threads)
    from melonpy.data import read_covers, split_covers
    from melonpy.models import train_era_model, evaluate_era_model, baseline_verdict
    t0 = time.time()
    covers = split_covers(read_covers(Path(shared)/'data'/'covers', eras=a.eras.split(','), quality=a.quality), seed=a.seed, progress=False)
    t_data = time.time() - t0
    n = covers.split.value_counts()
    print(f'{len(covers)} covers: {n.get("train", 0)} train, {n.get("valid", 0)} valid, {n.get("test", 0)} test '
          f'(read+split {t_data:.0f}s); torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}', flush=True)
    rows = []
    for arch in a.archs.split(','):
        load0, t, c = os.getloadavg()[0], time.time(), time.process_time()
        learn = train_era_model(covers, eras=None, arch=arch, size=a.size, epochs=a.epochs,
                                freeze_epochs=a.freeze_epochs, lr=a.lr, seed=a.seed, quiet=True)
        t_train, c_train = time.time() - t, time.process_time() - c
        r = evaluate_era_model(learn)
        rows.append(dict(model=arch, accuracy=r['accuracy'], macro_f1=r['macro_f1'], era_mae=r['era_mae'],
                         baseline_accuracy=r['baseline_accuracy'], baseline_macro_f1=r['baseline_macro_f1'],
                         baseline_era_mae=r['baseline_era_mae'], p_vs_baseline=r['p_vs_baseline'], train_s=round(t_train), train_cpu_s=round(c_train), eval_s=round(time.time() - t - t_train),
                         load=round((load0 + os.getloadavg()[0])/2, 1)))
        print(f'{arch}: accuracy {r["accuracy"]:.3f} (baseline {r["baseline_accuracy"]:.3f}), macro-F1 {r["macro_f1"]:.3f}, '
              f'era error {r["era_mae"]:.3f}, {baseline_verdict(r["p_vs_baseline"])}, trained in {t_train:.0f}s wall ({c_train:.0f}s CPU)', flush=True)
    df = pd.DataFrame(rows).set_index('model').round(3)
    print(f'\nsize {a.size}, {a.freeze_epochs} head + {a.epochs} full epochs, test n={n.get("test", 0)}, majority era {r["majority"]}')
    cols = ['model', *df.columns]
    print('| ' + ' | '.join(cols) + ' |\n|' + '---|'*len(cols))
    for m, r in df.iterrows(): print('| ' + ' | '.join([m, *[f'{v:g}' for v in r]]) + ' |')
    if a.csv: df.to_csv(a.csv)

if __name__ == '__main__': main()
