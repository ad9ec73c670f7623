"""A small `melonpy run` shared by tests/test_course.py and tests/test_report_browser.py (made once per session).

With `$MELONPY_SHARED`, the real command on 12 covers per era of the shared collection (`--quick`: SqueezeNet from the
shared ImageNet weights at 64 px, VGG16 style transfer at 64 px). Without it, the same pipeline through `run_course`
on a tiny synthetic collection (chapter 2's `fake_scrape`) with a small CNN from scratch and an untrained VGG16, so
the report test still has a report to open.
"""
import os, subprocess, sys, time
from pathlib import Path
import pytest
import cli

_runs = {}   # one small run per session, whichever test module asks first


def covers():
    "The shared cover collection, or None."
    p = os.environ.get('MELONPY_SHARED')
    c = Path(p)/'data'/'covers' if p else None
    return c if c is not None and (c/'metadata.csv').is_file() else None


def melonpy_env(**extra):
    "Environment for the commands the tests start: Agg plots, the shared ImageNet weights, no colour in bars."
    env = dict(os.environ, MPLBACKEND='Agg', PYTHONUNBUFFERED='1', **extra)
    p = os.environ.get('MELONPY_SHARED')
    if p and (Path(p)/'torch_home').is_dir(): env.setdefault('TORCH_HOME', str(Path(p)/'torch_home'))
    return env


def melonpy(*args, timeout=60, **kw):
    "Run the real `melonpy ARGS` (tests/cli.py) in `melonpy_env()` and return the `CompletedProcess` (text)."
    return cli.melonpy(*args, timeout=timeout, env=melonpy_env(), **kw)


_synthetic = """
import sys
from pathlib import Path
from melonpy.data import fake_scrape
from melonpy.course import run_course, course_summary
run, data = Path(sys.argv[1]), fake_scrape(Path(sys.argv[2]), n=40)
book = run_course(run, data=data, quick=True, eras='1990s,2000s', arch='cnn_bn', pretrained=False, size=32,
                  n_boot=100, colour_size=32, style_size=32, style_steps=2, style_covers=4, vgg_weights=None)
print(course_summary(book, run))
"""


def run_args(run):
    "The command line of the small run into `run` (real covers), or None without the shared collection."
    c = covers()
    return None if c is None else ['run', '--data', c, '--quick', '--max-per-era', '12', '--out', run]


@pytest.fixture(scope='session')
def small_run(tmp_path_factory):
    "(run folder, CompletedProcess, seconds) of one small run, made once per session."
    if 'run' not in _runs:
        root = tmp_path_factory.mktemp('course')
        run, t = root/'run', time.monotonic()
        if covers() is not None: r = melonpy(*run_args(run), timeout=600)
        else:
            r = subprocess.run([sys.executable, '-c', _synthetic, str(run), str(root/'fake')], capture_output=True,
                               text=True, timeout=600, env=melonpy_env())
        _runs['run'] = (run, r, time.monotonic() - t)
    run, r, secs = _runs['run']
    assert r.returncode == 0, f'the small run failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}'
    return run, r, secs
