"Chapter 7 (`melonpy.style`): the `melonpy stylize` command end to end, its one-line errors, and the era-statistics cache."
import re
import numpy as np
import pytest
from PIL import Image
from cli import melonpy, melonpy_env, one_line_error


def stylize(*args, env=None, timeout=300):
    "Run `melonpy stylize ARGS --threads 1` in a fresh process (one thread: the tests share the machine); returns the CompletedProcess."
    return melonpy('stylize', *args, '--threads', 1, env=env, timeout=timeout)


@pytest.fixture
def env(tmp_path, shared_dir):
    "The test environment with a private, empty cache folder and the shared VGG16 weights."
    e = melonpy_env(MELONPY_CACHE=tmp_path/'cache')
    e.pop('MELONPY_DATA', None)
    return e


@pytest.fixture
def photo(tmp_path):
    "A small content picture that is not square."
    rng = np.random.default_rng(0)
    p = tmp_path/'photo.png'
    Image.fromarray(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)).resize((80, 60), Image.Resampling.BICUBIC).save(p)
    return p


def _last_line(r):
    return r.stdout.strip().splitlines()[-1]


@pytest.mark.covers
def test_stylize_with_style_images(tmp_path, env, photo, covers_dir):
    styles = sorted((covers_dir/'1990s').glob('*.jpg'))[:2]
    out = tmp_path/'out'/'styled.png'
    r = stylize(photo, '--style', *styles, '--size', 48, '--steps', 6, '--out', out, env=env)
    assert r.returncode == 0, r.stderr
    assert Image.open(out).size == (48, 36)                       # longer side = --size, aspect kept
    assert not np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(photo).resize((48, 36))))
    line = _last_line(r)
    assert line.startswith('stylized photo.png toward') and str(out) in line
    # the style distance went down: "style A, content B -> style C, content D"
    before, after = line.split(': ', 1)[1].split('; saved')[0].split(' -> ')
    s0, s1 = (float(x.split('style ')[1].split(',')[0]) for x in (before, after))
    assert s1 < s0


@pytest.fixture(scope='module')
def tiny_model(tmp_path_factory, covers_dir):
    "A tiny era classifier (1990s vs 2000s, 32 px, random init, one epoch): enough to exercise `--check`, quickly."
    import torch
    from melonpy.models import train_era_model, export_era_model
    n = torch.get_num_threads(); torch.set_num_threads(1)
    try: learn = train_era_model(covers_dir, eras=('1990s', '2000s'), size=32, epochs=1, freeze_epochs=0, max_per_era=12,
                                 pretrained=False, quiet=True, bs=8)
    finally: torch.set_num_threads(n)
    return export_era_model(learn, tmp_path_factory.mktemp('model')/'m.safetensors')


@pytest.mark.covers
def test_stylize_with_era_reuses_cache(tmp_path, env, photo, covers_dir, tiny_model):
    args = [photo, '--era', '1990s', '--data', covers_dir, '--size', 48, '--steps', 4, '--max-covers', 6]
    r1 = stylize(*args, '--out', tmp_path/'a.png', env=env)
    assert r1.returncode == 0, r1.stderr
    assert 'toward era 1990s (6 covers)' in _last_line(r1)
    cached = sorted((tmp_path/'cache'/'style').glob('1990s-*.pt'))
    assert [p.name.split('-')[1] for p in cached] == ['24px', '48px']   # half size and full size
    stamps = {p: p.stat().st_mtime_ns for p in cached}
    r2 = stylize(*args, '--check', tiny_model, '--out', tmp_path/'b.png', env=env)   # and --check reads the classifier
    assert r2.returncode == 0, r2.stderr
    m = re.search(r'; P\(1990s\) by m\.safetensors: (\d\.\d{3}) -> (\d\.\d{3})$', _last_line(r2))
    assert m and all(0 <= float(p) <= 1 for p in m.groups()), _last_line(r2)
    assert sorted((tmp_path/'cache'/'style').glob('1990s-*.pt')) == cached
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())   # read, not written again
    # same statistics and same start: the same picture
    assert np.array_equal(np.asarray(Image.open(tmp_path/'a.png')), np.asarray(Image.open(tmp_path/'b.png')))


@pytest.mark.covers
@pytest.mark.parametrize('case, expect', [
    ('missing', 'nope.jpg: file not found'),
    ('unreadable', 'not an image'),
    ('unknown_era', "era '1890s' is not in"),
    ('empty_era', "era '2000s'"),
    ('size', 'out of range: give 16 to 1024'),
    ('steps', 'argument --steps: 0 is out of range'),
    ('bad_style', 'style.jpg: file not found'),
    ('no_style', 'one of the arguments --era --style is required'),
    ('data_not_folder', 'is not a folder'),
    ('bad_model', 'not a model'),
    ('thin', 'crop it nearer to a square'),
])
def test_stylize_bad_input_one_line(tmp_path, env, photo, covers_dir, case, expect, monkeypatch, capsys):
    "Bad input: exit status 2 and one line on stderr that names the problem (in-process: `melonpy.cli.main`, as the command runs it)."
    from melonpy.cli import main
    for k, v in env.items(): monkeypatch.setenv(k, v)
    bad = tmp_path/'bad.jpg'; bad.write_bytes(b'<html>404</html>')
    coll = tmp_path/'coll'
    (coll/'1990s').mkdir(parents=True); Image.open(photo).save(coll/'1990s'/'a.jpg')
    (coll/'2000s').mkdir(); (coll/'2000s'/'broken.jpg').write_bytes(b'oops')
    model = tmp_path/'m.safetensors'; model.write_text('junk')
    out = tmp_path/'out.png'
    thin = tmp_path/'thin.png'; Image.new('RGB', (2000, 100), 'navy').save(thin)
    args = {
        'missing': [tmp_path/'nope.jpg', '--era', '1990s', '--data', coll],
        'unreadable': [bad, '--era', '1990s', '--data', coll],
        'unknown_era': [photo, '--era', '1890s', '--data', covers_dir],
        'empty_era': [photo, '--era', '2000s', '--data', coll, '--size', 48, '--steps', 2],
        'size': [photo, '--era', '1990s', '--data', coll, '--size', 100000],
        'steps': [photo, '--era', '1990s', '--data', coll, '--steps', 0],
        'bad_style': [photo, '--style', tmp_path/'style.jpg'],
        'no_style': [photo],
        'data_not_folder': [photo, '--era', '1990s', '--data', tmp_path/'nowhere'],
        'bad_model': [photo, '--era', '1990s', '--data', coll, '--check', model],
        'thin': [thin, '--style', photo],
    }[case]
    with pytest.raises(SystemExit) as e: main(['stylize', *map(str, args), '--out', str(out), '--threads', '1'])
    assert e.value.code == 2
    err = [re.sub(r'\x1b\[[0-9;]*[A-Za-z]', '', l).split('\r')[-1] for l in capsys.readouterr().err.strip().splitlines()]
    err = [l for l in err if '%|' not in l and l.strip()]   # progress bars of work done before the error (and their cursor moves)
    assert len(err) == 1 and err[0].startswith('melonpy stylize: error:') and expect in err[0], err
    assert not out.exists()


@pytest.mark.covers
def test_stylize_missing_file_subprocess(tmp_path, env):
    "The real command, for one bad input: one line, status 2, no traceback."
    r = stylize(tmp_path/'nope.jpg', '--style', tmp_path/'nope.jpg', '--out', tmp_path/'o.png', env=env, timeout=120)
    assert r.returncode == 2 and 'Traceback' not in r.stderr
    lines = [l for l in r.stderr.strip().splitlines() if 'Warning' not in l and not l.startswith('  warnings.warn')]
    assert lines == [f'melonpy stylize: error: {tmp_path/"nope.jpg"}: file not found; give a JPEG or PNG image file']


@pytest.mark.covers
def test_stylize_check_knows_the_era_before_any_work(tmp_path, env, photo, covers_dir, tiny_model):
    "`--check` with a model that does not know the era: one line naming the eras it knows, and OUT is not written."
    r = stylize(photo, '--era', '2010s', '--data', covers_dir, '--check', tiny_model, '--out', tmp_path/'o.png', env=env, timeout=120)
    one_line_error(r, 'does not know era', '1990s')
    assert not (tmp_path/'o.png').exists()
