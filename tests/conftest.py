"Shared pytest fixtures: where the shared test material is, and skips with a reason when it is absent."
import os, shutil
from pathlib import Path
import pytest

def _shared():
    p = os.environ.get('MELONPY_SHARED')
    return Path(p) if p and Path(p).is_dir() else None

@pytest.fixture(scope='session')
def shared_dir():
    "The shared material folder (`$MELONPY_SHARED`), or skip."
    p = _shared()
    if p is None: pytest.skip('MELONPY_SHARED is not set to the shared material folder (../shared); .ci/run sets it')
    return p

@pytest.fixture(scope='session')
def covers_dir(shared_dir):
    "The shared cover collection (`$MELONPY_SHARED/data/covers`), or skip."
    p = shared_dir/'data'/'covers'
    if not (p/'metadata.csv').exists(): pytest.skip(f'{p} has no metadata.csv')
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
