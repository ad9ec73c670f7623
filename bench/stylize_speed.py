"""Seconds per 256-px cover of `melonpy stylize --method fast` (chapter 7): the fast network, `fast_refine` L-BFGS steps,
toward the era's typical covers picked by a classifier. Goal of issue 20: under 10 s per cover on the 2-core machine.
(This was the default route until issue 28; the default now is the era grade, whose seconds per cover and per command
`bench/style_routes.py --command` measures.)

In one process, after the caches are warm (the classifier's ranking of each era's covers, the typical covers' Gram
matrices and embeddings: the first run per model and era pays for them once, then they are read from disk), it
stylises one cover from each of the content eras toward each target era and prints the mean, min and max seconds of
`style_transfer`. With `--command`, it also runs `melonpy stylize` twice in a fresh cache folder and prints the
command's own time (its last line) and the wall time of each run: the first ranks the covers, the second reads them.

    MELONPY_SHARED=../shared nice python bench/stylize_speed.py --model era.safetensors
    MELONPY_SHARED=../shared nice python bench/stylize_speed.py --model era.safetensors --threads 1 --command
"""
import argparse, os, re, subprocess, sys, tempfile, time
from pathlib import Path
import torch
from melonpy.core import sample_covers, fast_refine, default_eras
from melonpy.model_file import load_era_model
from melonpy.gatys import VGGFeatures
from melonpy.style import style_transfer, Paint


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--model', required=True, help='classifier from `melonpy train` (it picks the typical covers)')
    p.add_argument('--data', default=None, help='cover collection (default: $MELONPY_DATA or the shared one)')
    p.add_argument('--content-eras', default='1970s,1980s,2020s')
    p.add_argument('--size', type=int, default=256)
    p.add_argument('--refine', type=int, default=fast_refine, help='L-BFGS steps after the network (default: %(default)s, the fast route\'s default)')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--command', action='store_true', help='also time the `melonpy stylize` command, first and second run')
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    covers = sample_covers() if a.data is None else Path(a.data)
    learn, net = load_era_model(a.model), VGGFeatures()
    contents = [sorted((covers/e).glob('*.jpg'))[3] for e in a.content_eras.split(',')]
    kw = dict(covers=covers, size=a.size, method='fast', era_style='typical', paint=Paint(refine=a.refine), learn=learn, net=net, progress=False)
    t = time.perf_counter()
    for e in default_eras: style_transfer(contents[0], era=e, **kw)   # warm: rankings, Gram targets, embeddings
    print(f'# warm-up (ranking and targets of {len(default_eras)} eras, from disk when cached): {time.perf_counter() - t:.1f}s; load average {os.getloadavg()[0]:.2f}')
    secs = []
    for c in contents:
        for e in default_eras:
            t = time.perf_counter(); style_transfer(c, era=e, **kw); secs.append(time.perf_counter() - t)
    print(f'fast route (+ {a.refine} steps, typical) at {a.size} px, {a.threads} threads: {sum(secs) / len(secs):.2f}s per cover '
          f'(min {min(secs):.2f}, max {max(secs):.2f}, {len(secs)} transfers); load average {os.getloadavg()[0]:.2f}')
    if a.command:
        with tempfile.TemporaryDirectory() as d:
            env = {**os.environ, 'MELONPY_CACHE': d}
            for run in ('first run (empty cache folder)', 'second run (the first run\'s cache)'):
                t = time.perf_counter()
                r = subprocess.run([sys.executable, '-m', 'melonpy.cli', 'stylize', str(contents[0]), '--era', default_eras[0], '--method', 'fast', '--check', a.model,
                                    '--size', str(a.size), '--threads', str(a.threads), *(['--data', str(a.data)] if a.data else []),
                                    '--out', os.path.join(d, 'out.png')], capture_output=True, text=True, env=env)
                if r.returncode: sys.exit(r.stderr.strip().splitlines()[-1])
                inside = re.search(r' in ([\d.]+)s', r.stdout).group(1)
                print(f'melonpy stylize, {run}: {inside}s inside the command, {time.perf_counter() - t:.1f}s wall')


if __name__ == '__main__': main()
