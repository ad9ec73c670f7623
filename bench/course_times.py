#!/usr/bin/env python
"""Benchmark: wall time of each stage of `melonpy run` (chapter 8's `run_course`) on the shared cover collection.

Runs the whole course with its defaults on `$MELONPY_SHARED/data/covers` (1990s/2000s/2010s, 1,398 covers) into a
new run folder, with an empty melonpy cache (so covers are read and era styles computed as on a first run; pass
--warm-cache to keep `$MELONPY_CACHE`), then runs the same command again to time a rerun that skips everything.
Prints a Markdown table of wall and CPU seconds per stage, the load average, and the run's summary line.

    MELONPY_SHARED=../shared TORCH_HOME=../shared/torch_home nice python bench/course_times.py
    ... python bench/course_times.py --quick --max-per-era 30     # the smoke-test settings
    ... python bench/course_times.py --out /tmp/run1              # keep the run (and its report.html)

Goal: the default run within a few minutes on a 2-core CPU. Wall time grows with the machine's load: compare the
load average column, and the CPU seconds (all threads of the process) for a fairer figure.
"""
import argparse, os, shutil, sys, tempfile, time
from pathlib import Path


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default=None, help='run folder to create (default: a temporary one, removed afterwards)')
    p.add_argument('--quick', action='store_true', help="`melonpy run --quick`'s small settings")
    p.add_argument('--max-per-era', type=int, default=None, help='at most N covers per era')
    p.add_argument('--warm-cache', action='store_true', help='keep $MELONPY_CACHE (default: an empty cache, as a first run)')
    p.add_argument('--threads', type=int, default=None, help='torch threads (default: torch decides)')
    a = p.parse_args()
    shared = os.environ.get('MELONPY_SHARED')
    if not shared or not Path(shared, 'data', 'covers', 'metadata.csv').is_file():
        sys.exit('bench/course_times.py: set MELONPY_SHARED to the shared material folder (and TORCH_HOME=$MELONPY_SHARED/torch_home)')
    os.environ.setdefault('TORCH_HOME', str(Path(shared)/'torch_home'))
    os.environ.setdefault('MPLBACKEND', 'Agg')
    tmp = Path(tempfile.mkdtemp(prefix='melonpy-bench-'))
    if not a.warm_cache: os.environ['MELONPY_CACHE'] = str(tmp/'cache')
    out = Path(a.out) if a.out else tmp/'run'
    if out.exists() and any(out.iterdir()): sys.exit(f'bench/course_times.py: {out} is not empty: give a new --out folder')
    import torch
    if a.threads: torch.set_num_threads(a.threads)
    import melonpy.course as course
    times = {}
    for name, fn in list(course.__dict__.items()):     # time every stage function, wall and CPU
        if name.endswith('_stage') and callable(fn):
            def timed(*args, _fn=fn, _name=name[:-len('_stage')], **kw):
                t, c, l = time.time(), time.process_time(), os.getloadavg()[0]
                try: return _fn(*args, **kw)
                finally: times[_name] = (time.time() - t, time.process_time() - c, (l + os.getloadavg()[0]) / 2)
            setattr(course, name, timed)
    over = {} if a.max_per_era is None else dict(max_per_era=a.max_per_era)
    try:
        t0 = time.time()
        book = course.run_course(out, data=Path(shared)/'data'/'covers', quick=a.quick, progress=False, **over)
        total = time.time() - t0
        t1 = time.time()
        again = course.run_course(out, data=Path(shared)/'data'/'covers', quick=a.quick, progress=False, **over)
        rerun = time.time() - t1
        assert again['resumed'] == list(course.stage_names)
        print(f'torch threads {torch.get_num_threads()}, {"warm" if a.warm_cache else "empty"} cache, '
              f'{"quick" if a.quick else "default"} settings' + (f', at most {a.max_per_era} covers per era' if a.max_per_era else ''))
        print('\n| stage | wall s | CPU s | load average |\n|---|---|---|---|')
        for n in course.stage_names:
            w, c, l = times.get(n, (0, 0, 0))
            print(f'| {n} | {w:.1f} | {c:.1f} | {l:.1f} |' if n in times else f'| {n} | – | – | – |')
        print(f'| **total** | **{total:.1f}** | | |\n| rerun (all skipped) | {rerun:.1f} | | |\n')
        print(course.course_summary(book, out))
    finally:
        if a.out is None: shutil.rmtree(tmp, ignore_errors=True)
        else: shutil.rmtree(tmp/'cache', ignore_errors=True)


if __name__ == '__main__':
    main()
