"""The routes to an era's look (chapter 7, issue 28), measured as a reader would judge them, on covers no fitting used.

Each held-out cover (in the test split of both judges, the three eras) and a few covers of other decades is given the
look of each era by each route. For every route and target era it reports:

- `rise_default`, `rise_judge`: share of covers whose P(target) rises, by the default classifier (`nsfw_lite0_linear`,
  balance both, seed 42) and by the independent judge `era_judge` (frozen EfficientNet-Lite2 + logistic regression,
  seed 1, sources that mix eras only). Neither picked the covers any route learns from, and no route is optimised
  against either; but the default grade is fitted against a probe on EfficientNet-Lite0 features (lesson 7a), the
  network of the default classifier's Lite0 half, so for `grade*` routes only the judge is independent. The judged
  covers are checked to lie outside the grade's sample, and the other decades' covers to be ones the judge never saw
  in training (nor near copies): it learned every decade. How the default grade is fitted is chosen by
  `bench/grade_selection.py` on other covers with another judge, not by this bench's numbers.
- `id_default`, `id_judge`: share of covers whose target version is the one, among the cover's three versions, with the
  highest P(target) (chance 1/3).
- `spread`: mean absolute difference between the three versions of a cover ÷ mean absolute difference to the cover
  (goal ≥ 0.6); `ssim`: structural similarity with the cover, on brightness (goal ≥ 0.7).
- `sec_per_cover`: seconds of the route per picture, in the library (the caches warm).

Goals of issue 28: identified ≥ 80 % by both judges, P(target) rises ≥ 75 % for every era, spread ≥ 0.6, SSIM ≥ 0.7,
≤ 1 s per 256-px cover, ≤ 5 s per command. Results: bench/results/style_routes.csv and .json (command, date, load).

    MELONPY_SHARED=../shared nice python bench/style_routes.py --per-era 8 --others 40 --size 256
    MELONPY_SHARED=../shared nice python bench/style_routes.py --routes grade,grade_half --per-era 4   # a quick look
    MELONPY_SHARED=../shared nice python bench/style_routes.py --routes fast_refine,gatys --slow-covers 4   # VGG16's routes, seconds a picture
"""
import argparse, datetime, json, os, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np, pandas as pd, torch, torch.nn.functional as F
from melonpy.core import sample_covers, default_eras
from melonpy.data import read_covers, cache_dir
from melonpy.models import train_era_model, era_judge, evaluation_covers, export_era_model, load_era_model, predict_covers
from melonpy.gatys import image_tensor
from melonpy.style import style_transfer, Paint
from melonpy.grade import era_grade, era_sample, grade_fits, ssim
from melonpy.gatys import VGGFeatures

routes = dict(   # name: style_transfer keywords; 'fit' is how the grade is fitted (default: `era_grade`'s, the classifier fit), 'seed' its seed (default 0); strength 1 = the grade's `gain`
    grade=dict(method='grade'), grade_seed1=dict(method='grade', seed=1), grade_half=dict(method='grade', strength=0.5), grade_texture=dict(method='grade', texture=0.35),
    grade_mean=dict(method='grade', fit='mean'),   # the statistics fit: strength 1 = 2x the fit
    colour=dict(method='color'), fast=dict(method='fast'),
    fast_refine=dict(method='fast', paint=Paint(refine=12)), gatys=dict(method='gatys', paint=Paint(steps=30)))

def run_meta(script, argv, **more) -> dict:
    "What a bench's saved results record of its run: the command that made them (`script`: the bench's file, `argv`: its arguments, None: the command line's), the date (UTC), the load average, and `more`."
    return dict(command=' '.join(['python', f'bench/{Path(script).name}', *(argv or sys.argv[1:])]), date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
                load=os.getloadavg(), **more)

def judges(covers, folder:Path):
    "The default classifier and the independent judge (trained once, kept in `folder`), and the covers in both test splits."
    folder.mkdir(parents=True, exist_ok=True)
    paths, held = [folder/'default.safetensors', folder/'judge.safetensors'], folder/'heldout.json'
    if not (all(p.exists() for p in paths) and held.exists()):
        d = train_era_model(covers, arch='nsfw_lite0_linear', balance='both', quiet=True)
        j = era_judge(covers)
        both = sorted(set(evaluation_covers(d).file.astype(str)) & set(evaluation_covers(j).file.astype(str)))
        export_era_model(d, paths[0]); export_era_model(j, paths[1]); held.write_text(json.dumps(both))
    return load_era_model(paths[0]), load_era_model(paths[1]), json.loads(held.read_text())

def other_decades(df, eras, others:int|None=None) -> pd.DataFrame:
    "The covers of `df` not of `eras`, in the bench's one random order; with `others`, only the start of it that the bench draws its `others` covers of other decades from."
    d = df[~df.era.isin(eras)].sample(frac=1, random_state=0)
    return d if others is None else d.head(4 * others)

def spread_of(versions:list, cover:torch.Tensor) -> float:
    "How far a cover's versions (tensors of its size) are from each other, relative to how far they are from `cover`: the mean absolute difference of each pair ÷ the mean absolute difference to the cover."
    pairs = [(versions[i] - versions[j]).abs().mean().item() for i in range(len(versions)) for j in range(i + 1, len(versions))]
    return np.mean(pairs) / max(np.mean([(v - cover).abs().mean().item() for v in versions]), 1e-6)

def judged_covers(df, eras, held, judge, per_era:int, others:int) -> list:
    "The covers the bench judges, as (file, era), from the collection's table `df`: `per_era` random ones of `held` for each of `eras`, and `others` of other decades that `judge` never saw, nor near copies (it learned every decade)."
    rng = np.random.default_rng(0)
    h = df[df.file.astype(str).isin(held)]
    contents = [(f, e) for e in eras for f in sorted(rng.choice(h[h.era == e].file.astype(str), min(per_era, (h.era == e).sum()), replace=False))]
    other = other_decades(df, eras, others)
    seen = predict_covers(judge, other.file.astype(str).tolist()).seen.fillna(False).to_numpy(bool)
    return contents + [(str(f), e) for f, e in other[~seen].head(others)[['file', 'era']].itertuples(index=False)]

def judge_versions(f, ims:dict, models:dict) -> list:
    "For cover `f` and its versions `ims` ({era: picture}), one row per era: P(era) of the cover (`p0_<name>`) and of that era's version (`p1_<name>`), and whether that version is the one of the three with the highest P(era) (`id_<name>`), by each of `models` ({name: classifier})."
    eras, rows = list(ims), [dict(target=e) for e in ims]
    for name, m in models.items():
        p = predict_covers(m, [f] + [ims[e] for e in eras])
        for k, e in enumerate(eras):
            rows[k].update({f'p0_{name}': p[f'prob_{e}'].iloc[0], f'p1_{name}': p[f'prob_{e}'].iloc[1 + k], f'id_{name}': int(p[f'prob_{e}'].iloc[1:].to_numpy().argmax() == k)})
    return rows

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', default=None, help='cover collection (default: $MELONPY_DATA or the shared one)')
    p.add_argument('--routes', default='grade,grade_half,grade_mean,colour,fast', help=f'among {", ".join(routes)}')
    p.add_argument('--per-era', type=int, default=8, help='held-out covers per era (of the three eras)')
    p.add_argument('--others', type=int, default=40, help='covers of other decades (no judge and no fit saw them)')
    p.add_argument('--slow-covers', type=int, default=3, help='how many of those covers the slow routes (gatys, fast_refine: VGG16 on every picture) get, spread evenly over the list')
    p.add_argument('--size', type=int, default=256)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--command', action='store_true', help='also time `melonpy stylize` (default route, warm cache) as a command')
    p.add_argument('--out', default=str(Path(__file__).parent/'results'/'style_routes'))
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    covers, eras, t0 = sample_covers() if a.data is None else Path(a.data), list(default_eras), time.time()
    learn, judge, held = judges(covers, cache_dir()/'bench-style-judges')
    contents = judged_covers(read_covers(covers), eras, held, judge, a.per_era, a.others)
    unseen = set(held) | {f for f, _ in contents}   # no grade is fitted on a cover it is judged on
    assert not set(era_sample(covers, eras, exclude=unseen).file.astype(str)) & unseen, 'the grade would be fitted on covers it is judged on'
    grades, fit_s = {}, {}
    fit_of = lambda name: (routes[name].get('fit', grade_fits[0]), routes[name].get('seed', 0))
    for how, seed in dict.fromkeys(fit_of(n) for n in a.routes.split(',')):
        t = time.time(); grades[how, seed] = g = era_grade(covers, eras, exclude=unseen, how=how, seed=seed, cache=cache_dir()/'bench-style-grade'); fit_s[f'{how} seed {seed}'] = secs = round(time.time() - t, 1)
        print(f'# {len(contents)} covers; grade ({how}, seed {seed}) fitted without them in {secs:.1f}s ({"cached" if g.cached else "fitted now"}); load {os.getloadavg()[0]:.2f}', flush=True)
    rows, vgg = [], None
    for name in a.routes.split(','):
        kw = dict(routes[name]); g = grades[fit_of(name)]; kw.pop('fit', None); kw.pop('seed', None)
        slow = kw.get('paint', Paint()).needs_net(kw['method'])
        if slow: kw['net'] = vgg = vgg or VGGFeatures()   # loaded once
        for f, ce in ([contents[i] for i in sorted(set(np.linspace(0, len(contents) - 1, a.slow_covers).round().astype(int)))] if slow else contents):
            c = image_tensor(f, a.size)
            ims, secs = {}, []
            for e in eras:
                t = time.perf_counter()
                ims[e] = style_transfer(f, era=e, covers=covers, size=a.size, progress=False, grade=g, **kw)
                secs.append(time.perf_counter() - t)
            xs = {e: image_tensor(im) for e, im in ims.items()}
            xs = {e: x if x.shape == c.shape else F.interpolate(x, size=c.shape[-2:], mode='bilinear') for e, x in xs.items()}
            spread = spread_of([xs[e] for e in eras], c)
            for k, r in enumerate(judge_versions(f, ims, dict(default=learn, judge=judge))):
                rows.append(dict(route=name, content=Path(f).name, content_era=ce, group='held-out' if ce in eras else 'other decades', **r,
                                 spread=spread, ssim=ssim(xs[eras[k]], c), sec=secs[k]))
        r = pd.DataFrame([x for x in rows if x['route'] == name])
        print(f'{name:14s} id {r.id_default.mean():.2f}/{r.id_judge.mean():.2f}  rise {(r.p1_default > r.p0_default).mean():.2f}/{(r.p1_judge > r.p0_judge).mean():.2f}  '
              f'spread {r.spread.mean():.2f}  ssim {r.ssim.mean():.2f}  {r.sec.mean():.2f}s/cover  load {os.getloadavg()[0]:.2f}', flush=True)
    raw = pd.DataFrame(rows)
    summ = lambda r: pd.Series(dict(covers=r.content.nunique(), rise_default=(r.p1_default > r.p0_default).mean(), rise_judge=(r.p1_judge > r.p0_judge).mean(),
                                    id_default=r.id_default.mean(), id_judge=r.id_judge.mean(), dp_default=(r.p1_default - r.p0_default).mean(),
                                    dp_judge=(r.p1_judge - r.p0_judge).mean(), spread=r.spread.mean(), ssim=r.ssim.mean(), sec_per_cover=r.sec.mean()))
    tab = pd.concat([raw.assign(target='all').groupby(['route', 'target'], sort=False).apply(summ),
                     raw.groupby(['route', 'target'], sort=False).apply(summ)]).reset_index()
    tab = tab.sort_values(['route', 'target'], key=lambda s: s.map({n: i for i, n in enumerate(a.routes.split(','))}) if s.name == 'route' else s, kind='stable')
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    for t_, path in ((tab, out.with_suffix('.csv')), (raw, out.parent/(out.name + '_raw.csv'))):   # routes measured before and not now are kept
        old = pd.read_csv(path) if path.exists() else None
        if old is not None: t_ = pd.concat([old[~old.route.isin(a.routes.split(','))], t_], ignore_index=True)
        t_ = t_.sort_values('route', key=lambda r: r.map({n: i for i, n in enumerate(routes)}), kind='stable')   # the default first, then as `routes` lists them
        t_.round(4).to_csv(path, index=False)
    cmd = None
    if a.command:
        with tempfile.TemporaryDirectory() as d:
            secs = []
            for _ in range(2):
                t = time.perf_counter()
                subprocess.run([sys.executable, '-m', 'melonpy.cli', 'stylize', contents[0][0], '--era', eras[0], '--data', str(covers), '--out', f'{d}/o.png'],
                               check=True, capture_output=True)
                secs.append(time.perf_counter() - t)
            cmd = dict(first=round(secs[0], 2), warm=round(secs[1], 2))
            print(f'# melonpy stylize (default route): first {secs[0]:.1f}s (fits the grade unless cached), warm {secs[1]:.1f}s')
    meta = run_meta(__file__, argv, threads=a.threads, size=a.size, covers=len(contents), routes=a.routes.split(','), grade_fit_s=fit_s,
                grades={f'{h} seed {sd}': g.table().to_dict(orient='index') for (h, sd), g in grades.items()}, command_s=cmd, seconds=round(time.time() - t0))
    runs = json.loads(out.with_suffix('.json').read_text()).get('runs', []) if out.with_suffix('.json').exists() else []
    out.with_suffix('.json').write_text(json.dumps(dict(runs=[r for r in runs if not set(r['routes']) <= set(meta['routes'])] + [meta]), indent=1, default=float))
    print(tab.round(2).to_string(index=False))

if __name__ == '__main__': main()
