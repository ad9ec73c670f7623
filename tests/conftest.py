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
