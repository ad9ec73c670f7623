"""Timings of chapters 2 and 3 on a cover collection (default: $MELONPY_SHARED/data/covers). Prints figures, asserts nothing.

    MELONPY_SHARED=../shared python bench/bench_data_colors.py [DIR]
"""
import os, sys, tempfile, time
from pathlib import Path

def main():
    os.environ.setdefault('MPLBACKEND', 'Agg')
    os.environ['MELONPY_CACHE'] = tempfile.mkdtemp()          # start cold
    from melonpy.core import sample_covers
    from melonpy import data, splits
    from melonpy.colors import analyze
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else sample_covers()
    t = time.perf_counter(); df = data.read_covers(src); t_index = time.perf_counter() - t
    t = time.perf_counter(); data.load_covers(df.file, 48, progress=False); t_cold = time.perf_counter() - t
    data._mem_cache.clear()
    t = time.perf_counter(); data.load_covers(df.file, 48, progress=False); t_disk = time.perf_counter() - t
    t = time.perf_counter(); s = splits.split_covers(df, progress=False); t_split = time.perf_counter() - t
    t = time.perf_counter(); splits.cover_arrays(s, 48, progress=False); t_arr = time.perf_counter() - t
    t = time.perf_counter(); analyze(df=df, out=tempfile.mkdtemp(), n_boot=2000, progress=False); t_an = time.perf_counter() - t
    n = len(df)
    print(f'{n} covers in {src}')
    for name, v in [('read index', t_index), ('read covers at 48 px (cold)', t_cold), ('read covers (disk cache)', t_disk),
                    ('near-duplicates + split', t_split), ('48x48 arrays', t_arr), ('analyze (figures, 2000 resamples)', t_an)]:
        print(f'{name:36} {v:6.2f} s  ({1000 * v / n:.2f} ms/cover)')

if __name__ == '__main__': main()
