"""Benchmark: how fast the `melonpy` command answers a usage error or `--help`, for every command, in a fresh process.

The command line is parsed and checked before any chapter is imported (issue: usage errors must not wait 5-12 s for
PyTorch and fastai), so each of these should answer in well under a second. Prints one line per case and the slowest.

    nice python bench/cli_startup.py [--repeat 3]
"""
import argparse, subprocess, sys, time
from pathlib import Path

CASES = {   # command line -> what a user got wrong
    'scrape --out x --delay -1': 'negative delay',
    'dataset covers --size 5 --out x.npz': 'size out of range',
    'analyze covers --colours 99 --out rep': 'too many colours',
    'train covers --seed -3 --out m.safetensors': 'negative seed',
    'train /no/such/folder --out m.safetensors': 'no such collection (a look at the files, still before PyTorch)',
    'predict m.safetensors': 'no image given',
    'tune covers --sizes 0 --out t.csv': 'size 0',
    'stylize a.jpg --out o.png': 'neither --era nor --style',
    'run --out r --max-per-era -5': 'negative covers per era',
    'train --help': 'help',
}

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--repeat', type=int, default=3, help='runs per case; the fastest is reported (default 3)')
    a = ap.parse_args()
    exe = Path(sys.executable).parent/'melonpy'
    cmd = [str(exe)] if exe.exists() else [sys.executable, '-m', 'melonpy.cli']
    worst = 0.
    for line, what in CASES.items():
        times, r = [], None
        for _ in range(a.repeat):
            t = time.perf_counter()
            r = subprocess.run([*cmd, *line.split()], capture_output=True, text=True, timeout=120)
            times.append(time.perf_counter() - t)
        out = (r.stderr or r.stdout).strip().splitlines()
        worst = max(worst, min(times))
        print(f'{min(times):6.3f} s  exit {r.returncode}  melonpy {line:<45} ({what}): {out[-1][:90] if out else ""}')
    print(f'slowest answer: {worst:.3f} s (target: under 1 s)')

if __name__ == '__main__': main()
