"""Closed loop and era identification for chapter 7: does stylising a cover toward era E make the chapter-4 classifier see E?

Content covers come from eras the classifier was NOT trained on (default 1970s, 1980s, 2020s), so none of them was
seen in training and each is "from another era" for every target E. Each cover is stylised toward every era the
model knows, by each `--methods` route and each `--era-styles` definition of an era's style
(`style_transfer(..., era=E, method=..., era_style=..., strength=...)`, era statistics from the same collection), and
the model's probabilities are read before and after with chapter 4's `predict_covers`. Printed per route and target era:

* closed loop: the mean change of P(E) from the content cover to its version styled toward E, and how often it rises;
* era identification: for each content cover, of its three versions (one per target era), is the one styled toward
  E the one with the highest P(E)? (chance 1/3 with three eras); and how often the classifier's top era for the
  version styled toward E is E itself;
* seconds per cover (wall time of `style_transfer` alone).

    MELONPY_SHARED=../shared nice python bench/style_closed_loop.py --model era.safetensors --methods fast --covers 30
    MELONPY_SHARED=../shared nice python bench/style_closed_loop.py --model era.safetensors --methods gatys --era-styles direction --size 128
    MELONPY_SHARED=../shared nice python bench/style_closed_loop.py                      # trains chapter 4's default model first
"""
import argparse, os, time
from pathlib import Path
import numpy as np, pandas as pd, torch
from melonpy.core import sample_covers
from melonpy.data import read_covers
from melonpy.core import typical_k
from melonpy.gatys import VGGFeatures
from melonpy.era_targets import typical_covers, era_styles, EraStyle
from melonpy.style import style_transfer, style_methods, Paint


def load_avg(): return ' '.join(f'{x:.2f}' for x in os.getloadavg())


def summarise(t, eras):
    "Per target era and in all: closed-loop change and rises, identification among the three outputs, top-1 = target, seconds per cover."
    rows = []
    for e in [*eras, 'all']:
        d = t if e == 'all' else t[t.target == e]
        rows.append(dict(target=e, n=len(d), before=d.before.mean(), after=d.after.mean(), change=d.change.mean(),
                         rises=f'{int((d.change > 0).sum())}/{len(d)}', rise_share=(d.change > 0).mean(),
                         identified=d.identified.mean(), top1=d.top1.mean(), secs=d.secs.mean()))
    return pd.DataFrame(rows).set_index('target')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', default=None, help='cover collection (default: $MELONPY_DATA or the shared one)')
    p.add_argument('--model', default=None, help='classifier from `melonpy train` (default: train one now)')
    p.add_argument('--save-model', default=None, help='where to save the model trained here')
    p.add_argument('--covers', type=int, default=30, help='content covers (default: %(default)s)')
    p.add_argument('--content-eras', default='1970s,1980s,2020s')
    p.add_argument('--methods', default='fast', help=f'comma-separated, of {",".join(style_methods)} (default: %(default)s)')
    p.add_argument('--era-styles', default=','.join(era_styles), help='comma-separated era style definitions, each with an optional :STRENGTH, e.g. typical,direction:3 (default: %(default)s)')
    p.add_argument('--strength', type=float, default=1., help='strength of the definitions given without one (default: %(default)s)')
    p.add_argument('--size', type=int, default=256)
    p.add_argument('--steps', type=int, default=60, help='gatys: style_transfer steps (default: %(default)s, its default)')
    p.add_argument('--typical-model', default=None, help='typical: rank the covers with this classifier instead of the judge --model (a fairer test)')
    p.add_argument('--k', type=int, default=typical_k, help='typical: how many covers (default: %(default)s, the library default)')
    p.add_argument('--refine', type=int, default=0, help='fast: L-BFGS steps after the network (default: %(default)s)')
    p.add_argument('--no-colours', action='store_true', help="do not match the era's colours")
    p.add_argument('--style-weight', type=float, default=5.)
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--csv', default=None, help='write the per-transfer table here')
    a = p.parse_args(argv)
    if a.threads: torch.set_num_threads(a.threads)
    from melonpy.models import load_era_model, train_era_model, export_era_model, evaluate_era_model, predict_covers
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
    picker = load_era_model(a.typical_model) if a.typical_model else learn   # who chooses the typical covers
    df = read_covers(covers, eras=a.content_eras.split(','))
    contents = df.sample(min(a.covers, len(df)), random_state=0).file.tolist()
    net = VGGFeatures()
    routes = [(m, s.split(':')[0], float(s.split(':')[1]) if ':' in s else a.strength) for m in a.methods.split(',') for s in a.era_styles.split(',')]
    print(f'# {len(contents)} covers from {a.content_eras} toward {eras} at {a.size}px by (method, era style, strength) {routes}, '
          f'gatys steps {a.steps}, fast refine {a.refine}, typical k {a.k} by {a.typical_model or "the judge"}, colours {not a.no_colours}; model {a.model or "trained here"} '
          f'({getattr(learn.card, "arch", "?")}); torch threads {torch.get_num_threads()}, load average {load_avg()}', flush=True)
    looks = {}
    for m, s, st in routes:   # the era statistics (and the typical covers) once, before timing
        for e in eras:
            if s == 'typical': typical_covers(picker, covers, e, a.k)
            if (s, st, e) not in looks: looks[s, st, e] = EraStyle(covers, e, s, st, picker, k=a.k)   # the era's look, checked and built once (for every method)
            style_transfer(contents[0], style=looks[s, st, e], size=a.size, method=m, net=net, progress=False,
                           paint=Paint(steps=2 if m == 'gatys' else 1, refine=min(a.refine, 1), colors=not a.no_colours))
    results = {}
    for m, s, st in routes:
        rows, t1 = [], time.time()
        for f in contents:
            outs, secs = [], []
            for e in eras:
                t = time.perf_counter()
                outs.append(style_transfer(f, style=looks[s, st, e], size=a.size, method=m, net=net, progress=False,
                                           paint=Paint(steps=a.steps, refine=a.refine, colors=not a.no_colours, style_weight=a.style_weight)))
                secs.append(time.perf_counter() - t)
            pr = predict_covers(learn, [f, *outs])
            P = pr[[f'prob_{e}' for e in eras]].to_numpy()   # row 0: the content, row 1 + j: styled toward eras[j]
            for j, e in enumerate(eras):
                rows.append(dict(cover=Path(f).name, method=m, era_style=s, strength=st, target=e, before=P[0, j], after=P[1 + j, j],
                                 identified=bool(P[1:, j].argmax() == j), top1=bool(P[1 + j].argmax() == j), secs=secs[j]))
        t = pd.DataFrame(rows).assign(change=lambda d: d.after - d.before)
        results[m, s, st] = t
        print(f'\n## method {m}, era style {s}, strength {st:g}: {len(contents)} covers x {len(eras)} eras in {time.time() - t1:.0f}s, load average {load_avg()}')
        print(summarise(t, eras).round(3).to_string(), flush=True)
    allt = pd.concat(results.values())
    if a.csv: allt.to_csv(a.csv, index=False)
    print('\nSUMMARY (all target eras; rises = share of transfers where P(target) rose; identified = share where the version '
          'styled toward E has the highest P(E) of the three, chance 0.333)')
    for (m, s, st), t in results.items():
        per = summarise(t, eras)
        print(f'{m:5s} {s:9s} size {a.size} strength {st:g}: mean change {t.change.mean():+.3f}, rises {(t.change > 0).mean():.0%}, '
              f'identified {t.identified.mean():.0%}, top-1 {t.top1.mean():.0%}, worst era change {per.change[eras].min():+.3f} / '
              f'rises {per.rise_share[eras].min():.0%} / identified {per.identified[eras].min():.0%}; {t.secs.mean():.2f}s per transfer')
    print(f'# {time.time() - t0:.0f}s in all; load average {load_avg()}')


if __name__ == '__main__': main()
