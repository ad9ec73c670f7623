"""Benchmark: the peak memory of `melonpy predict` over many large pictures, and of loading hostile model files.

Issue 29: `predict` held up to 64 full-resolution decoded pictures per chunk (twelve 9000×9000 PNGs peaked at 5.6 GB),
and a model card of 100,000 eras built layers of that size (2.5 GB) before saying the weights do not fit. Each case
runs the real command in a process of its own and reads that process's high-water mark (VmHWM, Linux), so the numbers
are the command's own, not this script's. Large pictures are one PNG and one JPEG hard-linked many times (no disk
space, but each is decoded again); the models are untrained (chapter 4's `_rebuild` of a card, saved as a real file).

    nice python bench/memory.py                      # 200 pictures of 4000×4000 (a few minutes on 2 cores)
    nice python bench/memory.py --n 2000 --side 9000 # the issue's size: long (each 9000×9000 PNG takes ~1 s to decode)

Measured on the project's 2-core machine (2026-12-06, `--n 1000 --side 2000`, untrained nsfw_linear, others sharing it):
1 small picture 1229 MB; 64 pictures 1461 MB; 1000 pictures 1530 MB (284 s); cards of 100,000 and 1,000,000 eras
1044 and 1128 MB (one line, exit 2). With `--n 2000 --side 2000` (same day): 1 picture 1227 MB, 2000 pictures 1545 MB (400 s),
the cards 1043 and 1126 MB. Before the fix, 24 pictures of 3000×3000 peaked at 1999 MB against 1086 MB for one
(tests/test_models.py::test_predict_memory_is_bounded, cnn model), and the 100,000-era card at 1625 MB against 1249.
What is left of the peak is PyTorch and fastai themselves (~1 GB) and 16 pictures at a time through the network.
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path

PEAK = """import atexit, os, sys
def peak():
    with open('/proc/self/status') as f: kb = next(l.split()[1] for l in f if l.startswith('VmHWM'))
    with open(os.environ['MELONPY_PEAK_FILE'], 'w') as f: f.write(kb)
atexit.register(peak)
from melonpy.cli import main
sys.exit(main(sys.argv[1:]))
"""

def measure(*args):
    "Run `melonpy ARGS` in its own process: (exit status, seconds, peak resident memory in MB, last line of its output)."
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, MELONPY_PEAK_FILE=str(Path(d)/'peak'))
        t = time.time()
        r = subprocess.run([sys.executable, '-c', PEAK, *map(str, args)], capture_output=True, text=True, env=env)
        secs = time.time() - t
        peak = int((Path(d)/'peak').read_text()) / 1024 if (Path(d)/'peak').exists() else float('nan')
    last = (r.stdout.strip().splitlines() or r.stderr.strip().splitlines() or [''])[-1]
    return r.returncode, secs, peak, last

def model(path, arch, eras=('1990s', '2000s'), card=None):
    "An untrained model of `arch` saved at `path`, its card's fields changed by `card`."
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file
    from melonpy.learners import ModelCard, default_size
    from melonpy.model_file import _rebuild, export_era_model
    learn = _rebuild(ModelCard(arch=arch, eras=list(eras), size=default_size(arch) if arch != 'cnn' else 32,
                               head='logistic' if arch.endswith('_linear') else None))
    export_era_model(learn, path)
    if card:
        with safe_open(str(path), framework='pt') as f: meta = json.loads(f.metadata()['melonpy'])
        meta['card'].update(card)
        save_file(load_file(str(path)), str(path), metadata={'melonpy': json.dumps(meta)})
    return path

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--n', type=int, default=200, help='large pictures to predict (default 200; the issue asks about 2,000)')
    ap.add_argument('--side', type=int, default=4000, help='their side in pixels (default 4000; the issue used 9000)')
    ap.add_argument('--arch', default='nsfw_linear', help='the model predict uses (default nsfw_linear, untrained)')
    a = ap.parse_args()
    import numpy as np
    from PIL import Image
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        m = model(d/'m.safetensors', a.arch)
        small = d/'small.png'; Image.new('RGB', (64, 64), 'red').save(small)
        big = d/'big'; big.mkdir()
        tile = Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8)).resize((a.side, a.side))
        tile.save(big/'0.png'); tile.save(big/'0.jpg', quality=85)
        for i in range(2, a.n):   # 0.png and 0.jpg, then links to them: n pictures, half PNG, half JPEG
            os.link(big/('0.png' if i % 2 else '0.jpg'), big/(f'{i}.png' if i % 2 else f'{i}.jpg'))
        print(f'{a.n} pictures of {a.side}x{a.side} (PNG {(big/"0.png").stat().st_size / 2**20:.1f} MB, JPEG {(big/"0.jpg").stat().st_size / 2**20:.1f} MB, '
              f'{a.side * a.side * 3 / 2**20:.0f} MB each decoded), model {a.arch}')
        cases = [('predict, 1 small picture (the baseline)', ['predict', m, small]),
                 (f'predict, {min(a.n, 64)} pictures of {a.side}x{a.side} (one batch)', ['predict', m, *sorted(big.iterdir())[:64]]),
                 (f'predict, {a.n} pictures of {a.side}x{a.side}', ['predict', m, big, '--csv', d/'p.csv']),
                 ('predict, a card of 100,000 eras (1.2 MB file)', ['predict', model(d/'e5.safetensors', a.arch, card=dict(eras=[f'{i}s' for i in range(100_000)])), small]),
                 ('predict, a card of 1,000,000 eras (12 MB file)', ['predict', model(d/'e6.safetensors', a.arch, card=dict(eras=[f'{i}s' for i in range(1_000_000)])), small])]
        for what, args in cases:
            code, secs, peak, last = measure(*args)
            print(f'{what:<48} peak {peak:7.0f} MB  {secs:6.1f} s  exit {code}: {last[:110]}')

if __name__ == '__main__': main()
