"""Speed of chapter 7's style transfer (`melonpy.style.style_transfer`) against a plain implementation.

Plain = the textbook recipe (PyTorch's "Neural Transfer" tutorial): VGG16, content conv4_2, style conv1_1…conv5_1,
120 L-BFGS steps at full size starting from the content image, pixels clamped inside the closure, targets computed
under `no_grad`. One L-BFGS *step* here is one iteration, and without a line search every iteration costs exactly one
evaluation (forward + backward) of the network: the plain run is ONE `LBFGS.step` call with `max_iter=max_eval=120`
and tolerances 0, so it does exactly 120 evaluations (the tutorial's loop of 20-iteration calls can overshoot when a
call stops early on a tolerance). Both implementations' evaluations are counted and printed, and the plain recipe's objective is recorded after each
of its evaluations, which tells how many of them it needed to get as low as the fast result on the same objective
(measured on the saved 8-bit output): the fast method's worth in plain evaluations. Fast = `style_transfer` with its defaults (coarse to fine, on a Laplacian pyramid of the image). Both optimise the same objective
(`style_weight`·relative Gram MSE + relative conv4_2 MSE, chapter 7's `style_loss`/`content_loss`) with the same
VGG16 weights at the same size, and both outputs (saved as 8-bit images) are measured by ONE function,
`transfer_distances`: style distance (relative Gram MSE to the target, mean over conv1_1…conv5_1) and content distance
(relative conv4_2 MSE to the content image).

The targets are eras of the shared collection (`$MELONPY_SHARED/data/covers`) or of `--data`; their statistics are
computed (and cached) before timing, for both implementations. Runs alternate plain/fast per cover so that both see
the same machine load; wall time and process CPU time are reported, with `uptime`'s load average.

    MELONPY_SHARED=../shared nice python bench/style_speed.py            # 256 px, 3 covers
    nice python bench/style_speed.py --size 128 --covers 2                # quicker
"""
import argparse, os, time
from pathlib import Path
import pandas as pd, torch
from melonpy.core import sample_covers
from melonpy.data import read_covers
from melonpy.gatys import VGGFeatures, image_tensor, to_image, transfer_distances, style_loss, content_loss
from melonpy.era_targets import era_grams
from melonpy.style import style_transfer, Paint


def plain_transfer(content, target, net, steps=120, style_weight=5., content_weight=1., flush_denormal=False, trace=None):
    "The textbook recipe: `steps` L-BFGS iterations (= evaluations; torch's defaults otherwise) on the full-size pixels from the content image, clamped in the closure. Returns (image, evaluations); appends each evaluation's objective to the list `trace` if given."
    with torch.no_grad(): cf = net(content)['conv4_2'].clone()
    x = content.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], max_iter=steps, max_eval=steps, tolerance_grad=0, tolerance_change=0)
    run = [0]
    def closure():
        with torch.no_grad(): x.clamp_(0, 1)
        opt.zero_grad()
        fs = net(x)
        loss = style_weight * style_loss(fs, target) + content_weight * content_loss(fs, cf)
        loss.backward()
        run[0] += 1
        if trace is not None: trace.append(loss.item())
        return loss
    torch.set_flush_denormal(flush_denormal)
    try: opt.step(closure)
    finally: torch.set_flush_denormal(False)
    with torch.no_grad(): x.clamp_(0, 1)
    return to_image(x), run[0]


def objective(d, style_weight=5., content_weight=1.):
    "The objective both implementations minimise, from `transfer_distances`' result `d` (plain_transfer's weights)."
    return style_weight * d['style'] + content_weight * d['content']


def timed(f):
    w, c = time.perf_counter(), time.process_time()
    out = f()
    return out, time.perf_counter() - w, time.process_time() - c


def load_avg(): return ' '.join(f'{x:.2f}' for x in os.getloadavg())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--data', default=None, help='cover collection (default: $MELONPY_DATA or the shared one)')
    p.add_argument('--size', type=int, default=256)
    p.add_argument('--covers', type=int, default=3, help='content covers (one per target era, cycling)')
    p.add_argument('--eras', default='1990s,2000s,2010s', help='target eras')
    p.add_argument('--content-eras', default='1970s,1980s', help='eras the content covers come from')
    p.add_argument('--steps', default='60', help='fast: total evaluations, one run per comma-separated value (default: %(default)s, Paint\'s default)')
    p.add_argument('--scales', type=int, default=None, help='fast: scales (default: Paint\'s)')
    p.add_argument('--levels', type=int, default=None, help='fast: Laplacian-pyramid levels, 1 = pixels (default: Paint\'s)')
    p.add_argument('--plain-steps', type=int, default=120)
    p.add_argument('--plain-flush', action='store_true', help='give the plain recipe torch.set_flush_denormal(True) too (separates that CPU trick from the method)')
    p.add_argument('--threads', type=int, default=None, help='torch threads for both (default: torch\'s)')
    p.add_argument('--out', default=None, help='folder to save the outputs (PNG) for a look')
    p.add_argument('--csv', default=None, help='write the per-cover table here')
    a = p.parse_args(argv)
    if a.threads: torch.set_num_threads(a.threads)
    covers = Path(a.data) if a.data else sample_covers()
    eras = a.eras.split(',')
    df = read_covers(covers, eras=a.content_eras.split(','))
    contents = df.sample(a.covers, random_state=1).file.tolist()
    net = VGGFeatures()
    kw = {k: v for k, v in dict(scales=a.scales, levels=a.levels).items() if v is not None}
    fast_steps = [int(x) for x in a.steps.split(',')]
    print(f'# size {a.size}px, {a.covers} covers, plain flush_denormal {a.plain_flush}, torch threads {torch.get_num_threads()}, load average before: {load_avg()}', flush=True)
    rows = []
    for i, f in enumerate(contents):
        era = eras[i % len(eras)]
        # era statistics at every size either implementation uses, computed and cached before timing
        for s in {a.size, a.size // 2, a.size // 4}: era_grams(covers, era, s, net=net, progress=False)
        target = era_grams(covers, era, a.size, net=net, progress=False)
        c = image_tensor(f, a.size)
        trace = []   # plain's objective after each evaluation
        (plain, n_plain), pw, pc = timed(lambda: plain_transfer(image_tensor(f, a.size), target, net, a.plain_steps, flush_denormal=a.plain_flush, trace=trace))
        dp, d0 = transfer_distances(image_tensor(plain), c, target, net), transfer_distances(c, c, target, net)
        if a.out:
            Path(a.out).mkdir(parents=True, exist_ok=True); plain.save(Path(a.out)/f'{i}_plain_{era}.png')
        for st in fast_steps:
            evals = []   # style_transfer's callback is called once per evaluation
            fast, fw, fc = timed(lambda: style_transfer(f, era=era, covers=covers, size=a.size, net=net, paint=Paint(steps=st, **kw), progress=False,
                                                        callback=lambda k, s, i, x, l: evals.append(s)))
            df_ = transfer_distances(image_tensor(fast), c, target, net)
            # how many of its evaluations the plain recipe needed to get as low on the same objective
            goal = objective(df_)
            match = next((k + 1 for k, v in enumerate(trace) if v <= goal), None)
            if a.out: fast.save(Path(a.out)/f'{i}_fast{st}_{era}.png')
            rows.append(dict(cover=Path(f).name, era=era, fast_steps=st, plain_s=pw, fast_s=fw, ratio=pw / fw, cpu_ratio=pc / fc,
                             style_start=d0['style'], style_plain=dp['style'], style_fast=df_['style'],
                             content_plain=dp['content'], content_fast=df_['content'], plain_evals=n_plain,
                             objective_plain=objective(dp), objective_fast=goal,
                             plain_evals_to_match=match if match else float('nan'),
                             matched_ratio=(match / n_plain) * pw / fw if match else float('nan'),
                             fast_evals=' + '.join(f'{evals.count(s)}@{s}px' for s in dict.fromkeys(evals))))
            r = rows[-1]
            print(f'{r["cover"]} -> {era}: plain {pw:.1f}s, fast({st} steps) {fw:.1f}s (x{r["ratio"]:.2f}, cpu x{r["cpu_ratio"]:.2f}); '
                  f'style {r["style_start"]:.3f} -> plain {dp["style"]:.4f} / fast {df_["style"]:.4f}; '
                  f'content plain {dp["content"]:.4f} / fast {df_["content"]:.4f}; evaluations plain {n_plain}@{a.size}px / fast {r["fast_evals"]}; '
                  f'plain reached fast\'s objective ({goal:.4f}) after {match or f"more than {n_plain}"} evaluations; '
                  f'load {load_avg()}', flush=True)
    t = pd.DataFrame(rows)
    print(t.round(4).to_string(index=False))
    if a.csv: t.to_csv(a.csv, index=False)
    for st, g in t.groupby('fast_steps'):
        better = ((g.style_fast <= g.style_plain) & (g.content_fast <= g.content_plain)).sum()
        sp, sf, cp, cf_ = g.style_plain.mean(), g.style_fast.mean(), g.content_plain.mean(), g.content_fast.mean()
        print(f'SUMMARY size {a.size}px, {len(g)} covers\n'
              f'  wall time   plain {g.plain_s.sum():.1f}s, fast {g.fast_s.sum():.1f}s: speed ratio {g.plain_s.sum() / g.fast_s.sum():.2f} (wall), '
              f'{g.cpu_ratio.median():.2f} (median cpu)\n'
              f'  evaluations plain {g.plain_evals.iloc[0]}@{a.size}px, fast {g.fast_evals.iloc[0]}\n'
              f'  style distance   plain {sp:.4f}, fast {sf:.4f} ({(sf / sp - 1) * 100:+.1f} %)\n'
              f'  content distance plain {cp:.4f}, fast {cf_:.4f} ({(cf_ / cp - 1) * 100:+.1f} %)\n'
              f'  objective (5 style + content) plain {g.objective_plain.mean():.4f}, fast {g.objective_fast.mean():.4f}: the plain recipe got as low after '
              f'{", ".join("more than %d" % n if pd.isna(m) else "%d" % m for m, n in zip(g.plain_evals_to_match, g.plain_evals))} of its '
              f'{g.plain_evals.iloc[0]} evaluations, so fast is worth x{g.matched_ratio.mean():.2f} (mean; plain time scaled to those evaluations, over fast time)\n'
              f'  fast no worse on both for {better}/{len(g)} covers; load average after: {load_avg()}')

if __name__ == '__main__': main()
