"""The fixtures every test file shares: the shared test material (skipping with a reason when it is absent), Chromium,
a private cache, and one small `melonpy run` made once per session."""
import os, shutil, subprocess, sys, time
from pathlib import Path
import pytest
from melonpy.core import shared_dir as _shared_dir
from runcli import melonpy, melonpy_env


def _shared_covers():
    "The shared cover collection (`$MELONPY_SHARED/data/covers`), or None."
    s = _shared_dir()
    c = s/'data'/'covers' if s is not None else None
    return c if c is not None and (c/'metadata.csv').is_file() else None


# With pytest-xdist (./test.sh runs `pytest -n 2 --dist loadgroup`), a test file goes to one worker whole, so its module
# fixtures are made once; the two files that share the small run go to the same worker, so it is made once too.
_groups = {'test_course.py': 'small_run', 'test_report_browser.py': 'small_run'}


def pytest_collection_modifyitems(config, items):
    for item in items:
        name = item.path.name
        item.add_marker(pytest.mark.xdist_group(_groups.get(name, name)))


@pytest.fixture(scope='session')
def shared_dir():
    "The shared material folder (`$MELONPY_SHARED`, read by `melonpy.core.shared_dir`), or skip."
    p = _shared_dir()
    if p is None: pytest.skip('needs the project\'s shared test material (set MELONPY_SHARED to its folder)')
    return p


@pytest.fixture(scope='session')
def covers_dir(shared_dir):
    "The shared cover collection (`$MELONPY_SHARED/data/covers`), or skip."
    p = _shared_covers()
    if p is None: pytest.skip(f'{shared_dir}/data/covers has no metadata.csv')
    return p


@pytest.fixture(scope='session')
def chromium():
    "Path of Debian's Chromium, or skip when it is truly missing."
    p = shutil.which('chromium') or ('/usr/bin/chromium' if Path('/usr/bin/chromium').exists() else None)
    if p is None: pytest.skip('Chromium is not installed (apt-get install -y chromium)')
    return p


@pytest.fixture(autouse=True, scope='session')
def own_cache(tmp_path_factory):
    "Keep the caches of the tests (and of the commands they run) in a temporary folder, never the user's ~/.cache."
    old = os.environ.get('MELONPY_CACHE')
    os.environ['MELONPY_CACHE'] = str(tmp_path_factory.getbasetemp()/'melonpy-cache')
    yield
    if old is None: os.environ.pop('MELONPY_CACHE', None)
    else: os.environ['MELONPY_CACHE'] = old


@pytest.fixture(autouse=True)
def fresh_url_opener():
    """urllib's `urlopen` (torch.hub downloads with it) reads the proxy variables when it first builds its opener, and keeps
    that opener: drop it around each test, so that the closed proxies an offline test sets do not outlive the test (with
    two workers, a later test in the same process could not reach its local server)."""
    import urllib.request
    urllib.request.install_opener(None)
    yield
    urllib.request.install_opener(None)


# One small `melonpy run`, shared by tests/test_course.py and tests/test_report_browser.py. With the shared collection,
# the real command on 12 covers per era (`--quick`: SqueezeNet from the shared ImageNet weights at 64 px, VGG16 style
# transfer at 64 px). Without it, the same pipeline through `run_course` on a tiny synthetic collection (chapter 2's
# `fake_scrape`) with a small CNN from scratch and an untrained VGG16, so the report test still has a report to open.
_synthetic = """
import sys
from pathlib import Path
from melonpy.splits import fake_scrape
from melonpy.course import run_course, course_summary
run, data = Path(sys.argv[1]), fake_scrape(Path(sys.argv[2]), n=40)
book = run_course(run, data=data, quick=True, eras='1990s,2000s', arch='cnn_bn', pretrained=False, size=32,
                  n_boot=100, color_size=32, style_size=32, style_steps=2, style_covers=4, vgg_weights=None)
print(course_summary(book, run))
"""


@pytest.fixture(scope='session')
def small_run_args():
    "A function: the command line of the small run into a folder (real covers), or None without the shared collection."
    def run_args(run):
        c = _shared_covers()
        return None if c is None else ['run', '--data', c, '--quick', '--max-per-era', '12', '--out', run]
    return run_args


@pytest.fixture(scope='session')
def small_run(tmp_path_factory, small_run_args):
    "(run folder, CompletedProcess, seconds) of one small run, made once per session."
    root = tmp_path_factory.mktemp('course')
    run, t = root/'run', time.monotonic()
    args = small_run_args(run)
    if args is not None: r = melonpy(*args, timeout=600)
    else:
        r = subprocess.run([sys.executable, '-c', _synthetic, str(run), str(root/'fake')], capture_output=True,
                           text=True, timeout=600, env=melonpy_env())
    assert r.returncode == 0, f'the small run failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}'
    return run, r, time.monotonic() - t
