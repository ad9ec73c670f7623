"Chapter 7 (`melonpy.style` and its lessons 7b-7d, `melonpy.commands` for the command): the `melonpy stylize` command end to end, its one-line errors, and the era-statistics cache."
import re
import numpy as np
import pytest
from PIL import Image
from runcli import melonpy, melonpy_env, one_line_error


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
    r = stylize(photo, '--style', *styles, '--size', 48, '--refine', 6, '--out', out, env=env)   # the default route: fast + L-BFGS steps
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
    from melonpy.learners import train_era_model
    from melonpy.model_file import export_era_model
    n = torch.get_num_threads(); torch.set_num_threads(1)
    try: learn = train_era_model(covers_dir, eras=('1990s', '2000s'), arch='cnn_bn', size=32, epochs=1, freeze_epochs=0, max_per_era=12,
                                 pretrained=False, quiet=True, bs=8)
    finally: torch.set_num_threads(n)
    return export_era_model(learn, tmp_path_factory.mktemp('model')/'m.safetensors')


@pytest.mark.covers
def test_stylize_with_era_reuses_cache(tmp_path, env, photo, covers_dir, tiny_model):
    args = [photo, '--era', '1990s', '--data', covers_dir, '--method', 'gatys', '--size', 48, '--steps', 4, '--max-covers', 6]
    r1 = stylize(*args, '--out', tmp_path/'a.png', env=env)
    assert r1.returncode == 0, r1.stderr
    assert 'toward era 1990s (6 covers) by gatys' in _last_line(r1)
    cached = sorted((tmp_path/'cache'/'style').glob('1990s-*.pt'))
    assert [p.name.split('-')[1] for p in cached] == ['24px', '48px']   # half size and full size
    stamps = {p: p.stat().st_mtime_ns for p in cached}
    r2 = stylize(*args, '--check', tiny_model, '--era-style', 'average', '--out', tmp_path/'b.png', env=env)   # --check reads the classifier (average: as r1)
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
    ('empty_era_gatys', "era '2000s'"),
    ('empty_era_grade', "era '2000s'"),
    ('texture_is_grade', '--texture is for --method grade: with fast'),
    ('grade_needs_era', '--method grade gives an era'),
    ('empty_era_colour', "era '2000s'"),
    ('size', 'out of range: give 16 to 1024'),
    ('steps', 'argument --steps: 0 is out of range'),
    ('bad_style', 'style.jpg: file not found'),
    ('no_style', 'one of the arguments --era --style is required'),
    ('data_not_folder', 'is not a folder'),
    ('bad_model', 'not a model'),
    ('thin', 'crop it nearer to a square'),
    ('typical_needs_model', 'give one with --check MODEL'),
    ('refine_is_fast', '--refine is for --method fast'),
    ('steps_is_gatys', '--steps is for --method gatys: with fast, leave it out (use --refine N)'),
    ('scales_is_gatys', '--scales is for --method gatys: with color'),
    ('strength', 'argument --strength: -1 is out of range'),
    ('era_style', "argument --era-style: invalid choice: 'newest'"),
    ('era_style_with_images', '--era-style direction is for --era'),
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
        'empty_era': [photo, '--era', '2000s', '--data', coll, '--size', 48, '--method', 'fast', '--refine', 2],
        'empty_era_grade': [photo, '--era', '2000s', '--data', coll, '--size', 48],
        'empty_era_gatys': [photo, '--era', '2000s', '--data', coll, '--size', 48, '--method', 'gatys', '--steps', 2],
        'empty_era_colour': [photo, '--era', '2000s', '--data', coll, '--method', 'colour'],
        'size': [photo, '--era', '1990s', '--data', coll, '--size', 100000],
        'steps': [photo, '--era', '1990s', '--data', coll, '--steps', 0],
        'bad_style': [photo, '--style', tmp_path/'style.jpg'],
        'no_style': [photo],
        'data_not_folder': [photo, '--era', '1990s', '--data', tmp_path/'nowhere'],
        'bad_model': [photo, '--era', '1990s', '--data', coll, '--check', model],
        'thin': [thin, '--style', photo],
        'typical_needs_model': [photo, '--era', '1990s', '--data', coll, '--era-style', 'typical'],
        'refine_is_fast': [photo, '--era', '1990s', '--data', coll, '--method', 'gatys', '--refine', 3],
        'steps_is_gatys': [photo, '--era', '1990s', '--data', coll, '--method', 'fast', '--steps', 30],
        'texture_is_grade': [photo, '--era', '1990s', '--data', coll, '--method', 'fast', '--texture', 0.5],
        'grade_needs_era': [photo, '--style', photo, '--method', 'grade'],
        'scales_is_gatys': [photo, '--era', '1990s', '--data', coll, '--method', 'colour', '--scales', 1],
        'strength': [photo, '--era', '1990s', '--data', coll, '--strength', -1],
        'era_style': [photo, '--era', '1990s', '--data', coll, '--era-style', 'newest'],
        'era_style_with_images': [photo, '--style', photo, '--era-style', 'direction'],
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


NO_DOWNLOAD = ['could not download', '--refine 0', '--method color', '--weights PATH', 'TORCH_HOME']
OFFLINE = [   # (flags after CONTENT, words of the one line; None: it works with nothing downloaded)
    (['--era', '1995s', '--data', '{coll}'], ["era '1995s' is not in", 'it has 1990s, 2000s', 'choose one']),   # not a VGG16 error
    (['--era', '1995s', '--data', '{coll}', '--method', 'gatys', '--check', '{model}'], ["era '1995s' is not in"]),   # before the model too
    (['--era', '1990s'], ['--era needs a cover collection', '--data DIR', 'MELONPY_DATA']),
    (['--era', '1990s', '--data', '{coll}'], None),                               # the default route, the era grade: nothing to download
    (['--era', '1990s', '--data', '{coll}', '--method', 'fast'], NO_DOWNLOAD),   # fast + refining steps
    (['--era', '1990s', '--data', '{coll}', '--method', 'gatys'], NO_DOWNLOAD),
    (['--style', '{coll}/2000s/0.jpg', '--refine', '3'], NO_DOWNLOAD),
    (['--era', '1990s', '--data', '{coll}', '--method', 'fast', '--refine', '0'], None),              # each route the error names works
    (['--era', '1990s', '--data', '{coll}', '--method', 'colour'], None),
]


@pytest.mark.parametrize('flags, words', OFFLINE)
def test_stylize_offline(tmp_path, photo, flags, words, monkeypatch):
    "No VGG16 weights reachable (an empty TORCH_HOME, no local copy, every download sent to a closed port): a mistake is named as "
    "itself, a route that needs VGG16 fails in one line naming every route that works, and those routes work."
    from runcli import melonpy_inproc
    for k in ('MELONPY_SHARED', 'MELONPY_VGG16_WEIGHTS', 'MELONPY_DATA'): monkeypatch.delenv(k, raising=False)
    for k in ('https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY'): monkeypatch.setenv(k, 'http://127.0.0.1:9')
    monkeypatch.setenv('TORCH_HOME', str(tmp_path/'empty-torch-home')); monkeypatch.setenv('MELONPY_CACHE', str(tmp_path/'cache'))
    coll, model, out = _coll(tmp_path/'coll'), tmp_path/'m.safetensors', tmp_path/'o.png'
    model.write_text('not read: the era is checked first')
    flags = [f.format(coll=coll, model=model) for f in flags]
    r = melonpy_inproc('stylize', photo, *flags, '--size', 32, '--out', out, '--threads', 1)
    if words is None:
        assert r[0] == 0, r
        assert Image.open(out).size == (32, 24)
    else:
        line = one_line_error(r, *words, after_bars=True)
        assert line.startswith('melonpy stylize: error:'), line
        if words is not NO_DOWNLOAD: assert 'VGG16' not in line, line
        assert not out.exists()


@pytest.mark.covers
def test_stylize_check_knows_the_era_before_any_work(tmp_path, env, photo, covers_dir, tiny_model):
    "`--check` with a model that does not know the era: one line naming the eras it knows, and OUT is not written."
    r = stylize(photo, '--era', '2010s', '--data', covers_dir, '--check', tiny_model, '--out', tmp_path/'o.png', env=env, timeout=120)
    one_line_error(r, 'does not know era', '1990s')
    assert not (tmp_path/'o.png').exists()


@pytest.mark.covers
@pytest.mark.parametrize('method', ['fast', 'gatys'])
def test_stylize_method_and_era_style(tmp_path, env, photo, covers_dir, tiny_model, method):
    "Each route through the command, with each era definition: a picture of the right size that differs by era style, and P(era) printed."
    outs = {}
    for era_style in ('average', 'typical', 'direction'):
        out = tmp_path/f'{era_style}.png'
        r = stylize(photo, '--era', '1990s', '--data', covers_dir, '--method', method, '--era-style', era_style, '--strength', 1.5,
                    '--size', 48, *(('--steps', 4) if method == 'gatys' else ('--refine', 2)), '--max-covers', 6, '--check', tiny_model, '--out', out, env=env)
        assert r.returncode == 0, r.stderr
        line = _last_line(r)
        assert ('by gatys at 48x36' if method == 'gatys' else 'by fast + 2 steps at 48x36') in line and (f'{era_style}, strength 1.5' if era_style != 'average' else 'strength 1.5') in line and re.search(r'P\(1990s\) by m\.safetensors: \d\.\d{3} -> \d\.\d{3}$', line), line
        outs[era_style] = np.asarray(Image.open(out), dtype=float)
        assert outs[era_style].shape == (36, 48, 3)
    a, t, d = outs.values()
    assert np.abs(a - t).mean() > 0.5 and np.abs(a - d).mean() > 0.5   # three definitions, three different pictures
    if method == 'fast':   # no --method: the measured default, the era grade (fitted once into the cache, then read), with or without a classifier
        small = _coll(tmp_path/'small')   # a fit costs about the same on any collection of a few covers per era, far less than on the shared one
        for check in ('--check', None):
            r = stylize(photo, '--era', '1990s', '--data', small, '--size', 48,
                        *((check, tiny_model) if check else ()), '--out', tmp_path/'auto.png', env=env)
            assert r.returncode == 0, r.stderr
            line = _last_line(r)
            assert 'its grade, fitted on' in line and 'by grade at 48x36' in line and ('P(1990s) by m.safetensors' in line) == bool(check), line
        assert len(list((tmp_path/'cache'/'style').glob('grade-*.json'))) == 1   # the second run read the first one's grade


@pytest.fixture(scope='module')
def tiny_learn(tiny_model):
    from melonpy.model_file import load_era_model
    return load_era_model(tiny_model)


def _coll(tmp_path):
    "A small synthetic collection: 1990s dark reddish covers, 2000s bright bluish ones (chapter 2's layout)."
    from melonpy.splits import synthetic_cover
    rng = np.random.default_rng(1)
    for era, tint in (('1990s', (60, 10, 10)), ('2000s', (0, 40, 120))):
        (tmp_path/era).mkdir(parents=True)
        for i in range(5):
            a = np.asarray(synthetic_cover(i + (0 if era == '1990s' else 50), 48), dtype=float) * 0.6 + np.array(tint) + rng.normal(0, 5, (48, 48, 3))
            Image.fromarray(a.clip(0, 255).astype(np.uint8)).save(tmp_path/era/f'{i}.jpg')
    return tmp_path


@pytest.mark.covers
def test_era_styles_move_statistics(tmp_path, tiny_learn, monkeypatch):
    "The era definitions in numbers: strength 0 = the content's own statistics, 1 = the era's; the direction adds (era - mean of eras)."
    import torch
    from melonpy.gatys import VGGFeatures, image_grams
    from melonpy.magenta import style_vectors
    from melonpy.era_targets import (era_target, era_grams, era_mean_target, target_color, pixel_color, era_color,
                                     era_style_vector, era_vector, typical_covers)
    from melonpy.learners import predict_covers
    coll, net = _coll(tmp_path/'coll'), VGGFeatures(weights=None)
    content = Image.open(coll/'2000s'/'0.jpg')
    own = image_grams(content, 32, net)
    eras = ['1990s', '2000s']
    avg = era_grams(coll, '1990s', 32, net, cache=False, progress=False)
    for s in (0., 1.):
        t = era_target(coll, '1990s', 32, net, 'average', s, own, cache=False)
        for l in own: torch.testing.assert_close(t[l], own[l] if s == 0 else avg[l])
    d = era_target(coll, '1990s', 32, net, 'direction', 2., own, eras=eras, cache=False)
    mean = era_mean_target(coll, '1990s', 32, net, eras, cache=False)
    for l in own: torch.testing.assert_close(d[l], own[l] + 2 * (avg[l] - mean[l]))
    # colours: toward the dark red 1990s, the mean moves by the gap between the era and the mean of the two eras
    c0, c1 = pixel_color([content]), target_color(content, era='1990s', covers=coll, era_style='direction', eras=eras)
    gap = era_color(coll, '1990s')[0] - (era_color(coll, '1990s')[0] + era_color(coll, '2000s')[0]) / 2
    torch.testing.assert_close(c1[0], (c0[0] + gap).clamp(0, 1))
    assert c1[0][0] > c0[0][0] and c1[0][2] < c0[0][2]
    # fast route: the embedding moves the same way
    own_v = style_vectors([content])[0]
    np.testing.assert_allclose(era_style_vector(content, coll, '1990s', 'average', 0.), own_v, rtol=1e-5)
    np.testing.assert_allclose(era_style_vector(content, coll, '1990s', 'direction', 1., eras=eras),
                               own_v + era_vector(coll, '1990s') - (era_vector(coll, '1990s') + era_vector(coll, '2000s')) / 2, rtol=1e-4, atol=1e-5)
    # typical covers: the k the classifier is surest of, most sure first
    top = typical_covers(tiny_learn, coll, '1990s', k=3)
    pr = predict_covers(tiny_learn, sorted((coll/'1990s').glob('*.jpg')))
    assert [str(f) for f in top] == pr.sort_values('prob_1990s', ascending=False, kind='stable').file.head(3).tolist()
    calls = []
    monkeypatch.setattr('melonpy.learners.predict_covers', lambda *a, **k: calls.append(1) or predict_covers(*a, **k))
    top2, top4 = typical_covers(tiny_learn, coll, '1990s', k=2), typical_covers(tiny_learn, coll, '1990s', k=4)
    assert calls == [] and top2 == top[:2] and top4[:3] == top   # the ranking is kept: another k costs no prediction


@pytest.mark.covers
def test_typical_ranking_cached_on_disk(tmp_path, tiny_learn, monkeypatch):
    "The ranking of an era's covers is kept on disk: a new process reads it with no prediction; a changed cover, another model, a broken file or cache=False rank again."
    import os, torch
    import melonpy.era_targets as st
    from melonpy.learners import predict_covers
    coll, cache = _coll(tmp_path/'coll'), tmp_path/'cache'
    monkeypatch.setenv('MELONPY_CACHE', str(cache))
    calls = []
    monkeypatch.setattr('melonpy.learners.predict_covers', lambda learn, files, **k: calls.append(len(files)) or predict_covers(learn, files, **k))
    top = st.typical_covers(tiny_learn, coll, '1990s', k=3, progress=False)
    files = list((cache/'style').glob('typical-1990s-*.json'))
    assert calls == [5] and len(files) == 1
    st._rankings.clear()   # as in a new process
    assert st.typical_covers(tiny_learn, coll, '1990s', k=3, progress=False) == top and calls == [5]
    files[0].write_text('{"rows": [["/etc/passwd", 1.0, null]]}')   # a file it never ranked: ignored
    st._rankings.clear()
    assert st.typical_covers(tiny_learn, coll, '1990s', k=3, progress=False) == top and calls == [5, 5]
    files[0].write_text('not json'); st._rankings.clear()
    assert st.typical_covers(tiny_learn, coll, '1990s', k=3, progress=False) == top and calls == [5, 5, 5]
    f = coll/'1990s'/'0.jpg'; os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))   # a changed cover
    st._rankings.clear(); st.typical_covers(tiny_learn, coll, '1990s', k=3, progress=False)
    assert calls == [5, 5, 5, 5] and len(list((cache/'style').glob('typical-1990s-*.json'))) == 2
    fp = st.model_fingerprint(tiny_learn)
    w = next(p for p in tiny_learn.model.parameters() if p.requires_grad); saved = w.detach().clone()
    with torch.no_grad(): w.add_(1e-3)   # the model trained further
    try:
        assert st.model_fingerprint(tiny_learn) != fp
        st.typical_covers(tiny_learn, coll, '1990s', k=3, progress=False)
        assert calls == [5] * 5
    finally:
        with torch.no_grad(): w.copy_(saved)
    assert st.model_fingerprint(tiny_learn) == fp
    st._rankings.clear(); st.typical_covers(tiny_learn, coll, '2000s', k=3, cache=False, progress=False)
    assert calls == [5] * 6 and not list((cache/'style').glob('typical-2000s-*.json'))


@pytest.mark.covers
def test_style_transfer_strength_and_methods(tmp_path):
    "Both methods in-process at a small size: strength 0 leaves the content (nearly) as it is, strength 1 moves its colours toward the era's."
    from melonpy.gatys import VGGFeatures
    from melonpy.era_targets import pixel_color, era_color
    from melonpy.style import style_transfer, Paint
    coll, net = _coll(tmp_path/'coll'), VGGFeatures(weights=None)
    content = Image.open(coll/'2000s'/'1.jpg')
    x0 = np.asarray(content, dtype=float)
    for method in ('gatys', 'fast'):
        kw = dict(era='1990s', covers=coll, size=48, paint=Paint(steps=6, colors=True), method=method, net=net, cache=False, progress=False)
        same = np.asarray(style_transfer(content, strength=0., **kw), dtype=float)
        moved = style_transfer(content, strength=1., **kw)
        if method == 'gatys': assert np.abs(same - x0).mean() < 3, method   # the content's own style: nothing to change
        m0, m1, me = pixel_color([content])[0], pixel_color([moved])[0], era_color(coll, '1990s')[0]
        assert (m1 - me).abs().sum() < 0.5 * (m0 - me).abs().sum(), (method, m0, m1, me)


# --- the style caches are untrusted: a cache of the wrong shape, layer or values is computed again and overwritten
BAD_GRAMS = {   # name: a change of the saved dict (Gram matrices, colours, count, files)
    'wrong_shape': lambda d: {**d, 'grams': {l: g[:, :8, :8] for l, g in d['grams'].items()}},
    'other_layer': lambda d: {**d, 'grams': {'conv1_2' if l == 'conv1_1' else l: g for l, g in d['grams'].items()}},
    'nan': lambda d: {**d, 'grams': {l: g.clone().fill_(float('nan')) for l, g in d['grams'].items()}},   # an all-black picture, "success"
    'nan_colour': lambda d: {**d, 'colour': [d['colour'][0].clone().fill_(float('nan')), d['colour'][1]]},
    'no_covers': lambda d: {**d, 'n': 0},
    'not_a_dict': lambda d: [1, 2, 3],
}

@pytest.mark.parametrize('kind', BAD_GRAMS)
def test_bad_gram_cache_is_computed_again(tmp_path, kind):
    import torch
    from melonpy.splits import fake_scrape
    from melonpy.gatys import VGGFeatures
    from melonpy.era_targets import era_grams
    covers, net = fake_scrape(tmp_path/'c', n=8), VGGFeatures(weights=None)
    good = era_grams(covers, '1990s', size=32, net=net, cache=tmp_path/'cache', progress=False)
    [path] = (tmp_path/'cache'/'style').glob('1990s-*.pt')
    torch.save(BAD_GRAMS[kind](torch.load(path, weights_only=True)), path)
    again = era_grams(covers, '1990s', size=32, net=net, cache=tmp_path/'cache', progress=False)
    assert not again.cached and set(again) == set(good) and all(torch.allclose(again[l], good[l]) for l in good)
    assert era_grams(covers, '1990s', size=32, net=net, cache=tmp_path/'cache', progress=False).cached   # overwritten with a good one


@pytest.mark.parametrize('rows', [
    lambda rows: [rows[0]] * 8,                                   # one cover repeated: "8 typical covers"
    lambda rows: [[f, float('nan'), s] for f, _, s in rows],
    lambda rows: [[f, 7.0, s] for f, _, s in rows],
    lambda rows: [[f, p, 'yes'] for f, p, s in rows],
], ids=['repeated', 'nan', 'above_one', 'seen_not_bool'])
def test_bad_ranking_cache_is_computed_again(tmp_path, rows):
    import json
    from melonpy.splits import fake_scrape
    from melonpy.learners import ModelCard
    from melonpy.model_file import _rebuild
    from melonpy.era_targets import typical_covers, _rankings
    covers = fake_scrape(tmp_path/'c', n=20)
    learn = _rebuild(ModelCard(arch='cnn', eras=['1990s', '2000s'], size=32))
    good = typical_covers(learn, covers, '1990s', k=4, cache=tmp_path/'cache', progress=False)
    [path] = (tmp_path/'cache'/'style').glob('typical-1990s-*.json')
    path.write_text(json.dumps(dict(rows=rows(json.loads(path.read_text())['rows']))))
    _rankings.clear()
    again = typical_covers(learn, covers, '1990s', k=4, cache=tmp_path/'cache', progress=False)
    assert len(set(again)) == 4 and again == good


def test_colour_route_takes_a_thin_picture(tmp_path):
    "`stylize --method colour` on a 5000×40 picture: the colour route runs no network, so VGG16's limit on thin pictures does not apply (it refused)."
    from runcli import melonpy_inproc
    thin, style = tmp_path/'thin.png', tmp_path/'style.png'
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 5000, 3), dtype=np.uint8)).save(thin)
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(style)
    code, err = melonpy_inproc('stylize', thin, '--style', style, '--method', 'colour', '--out', tmp_path/'o.png')
    assert code == 0, err
    assert Image.open(tmp_path/'o.png').size == (256, 2)


@pytest.mark.covers
def test_era_grade_route(tmp_path):
    "The default route: each era's grade is finite numbers that differ between eras, fitted once and then read from the cache, and it keeps the cover's structure."
    import torch
    from melonpy.grade import era_grade, grade_names, ssim
    from melonpy.gatys import image_tensor
    from melonpy.style import style_transfer
    coll, cache = _coll(tmp_path/'coll'), tmp_path/'cache'
    g = era_grade(coll, ['1990s', '2000s'], steps=10, cache=cache)   # the default, classifier fit: a few steps show it works
    t = g.table()
    assert list(t.columns) == list(grade_names) and np.isfinite(t.to_numpy()).all()
    assert (t.loc['1990s'] - t.loc['2000s']).abs().max() > 0.01, t
    files = sorted((cache/'style').glob('grade-*.json'))
    assert len(files) == 1 and not g.cached
    stamp = files[0].stat().st_mtime_ns
    g2 = era_grade(coll, ['1990s', '2000s'], steps=10, cache=cache)
    assert g2.cached and files[0].stat().st_mtime_ns == stamp and torch.equal(g2.params['1990s'], g.params['1990s'])
    content = coll/'2000s'/'0.jpg'
    im = style_transfer(content, era='1990s', covers=coll, method='grade', grade=g, size=48)
    a, b = image_tensor(im), image_tensor(content, 48)
    assert a.shape == b.shape and ssim(a, b) > 0.7
    assert (a - b).abs().mean() > 0.005   # it did change the picture


def test_era_grade_against_a_model(tmp_path):
    "`era_grade(model=...)` fits the grade until that classifier says the era: a toy model that calls bluer covers 1990s, against the collection "
    "(its 1990s are red), gets bluer 1990s covers and its P(era) of the covers rises for both eras (a fit that ignored it reddens the 1990s: "
    "P(1990s) falls); the fit is cached under a key of its own; a fit it cannot do is one sentence before any work."
    import shutil, torch
    from types import SimpleNamespace
    from melonpy.core import UserError
    from melonpy.gatys import image_tensor
    from melonpy.grade import era_grade, model_probe, apply_grade
    lin = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(3, 2))
    with torch.no_grad(): lin[2].weight.copy_(torch.tensor([[-10., 0, 10], [10, 0, -10]])); lin[2].bias.zero_()
    blue = SimpleNamespace(model=lin, dls=SimpleNamespace(vocab=['1990s', '2000s'], after_batch=SimpleNamespace(fs=[])))
    coll, cache = _coll(tmp_path/'coll'), tmp_path/'cache'
    g = era_grade(coll, ['1990s', '2000s'], steps=15, cache=cache, model=blue)
    assert not g.cached and era_grade(coll, ['1990s', '2000s'], steps=15, cache=cache, model=blue).cached
    assert len(list((cache/'style').glob('grade-*.json'))) == 1
    probe, classes = model_probe(blue)
    x = torch.cat([image_tensor(f, 48) for f in sorted(coll.glob('*/*.jpg'))])
    with torch.no_grad():
        for e in ('1990s', '2000s'):
            before, after = (probe(y)[:, classes.index(e)].exp().mean() for y in (x, apply_grade(x, g.params[e])))
            assert after > before + 0.1, (e, before, after)
    with pytest.raises(UserError, match="only the 'classifier' fit"): era_grade(coll, ['1990s', '2000s'], how='mean', model=blue, cache=False)
    shutil.copytree(coll/'2000s', coll/'2010s')
    with pytest.raises(UserError, match='the model tells 1990s, 2000s, not 2010s'): era_grade(coll, ['1990s', '2010s'], model=blue, cache=False)


def test_era_style_checked_once(tmp_path, monkeypatch):
    "One `style_transfer` toward an era, and one `melonpy stylize`, build its `EraStyle` once: `check_era_style` runs once on the colour route and once on the fast route "
    "with refining steps (colours, embedding and Gram matrices all asked of the one look), and a bad era style or strength is the same one sentence, before any cover is read."
    import melonpy.era_targets as et, melonpy.style as st
    from melonpy.core import UserError
    from melonpy.gatys import VGGFeatures
    from melonpy.style import style_transfer, Paint
    coll, net = _coll(tmp_path/'coll'), VGGFeatures(weights=None)
    content = Image.open(coll/'2000s'/'0.jpg')
    calls = []
    check = et.check_era_style
    for mod in (et, st): monkeypatch.setattr(mod, 'check_era_style', lambda *a, **kw: calls.append(a) or check(*a, **kw))
    for kw in (dict(method='color'), dict(method='fast', paint=Paint(refine=2), net=net)):
        calls.clear()
        im = style_transfer(content, era='1990s', covers=coll, size=32, era_style='direction', eras=['1990s', '2000s'], progress=False, cache=False, **kw)
        assert im.size == (32, 32) and calls == [('direction', 1.0, None)], (kw, calls)
    calls.clear()   # the command too: the look it reports on is the one the transfer used
    from runcli import melonpy_inproc
    code, err, out = melonpy_inproc('stylize', coll/'2000s'/'0.jpg', '--era', '1990s', '--data', coll, '--method', 'color', '--size', 32, '--no-cache', '--out', tmp_path/'o.png', stdout=True)
    assert code == 0 and 'toward era 1990s (5 covers)' in out and len(calls) == 1, (code, err, out, calls)
    asked = []
    monkeypatch.setattr(et, 'era_covers', lambda *a, **kw: asked.append(a))
    for bad, msg in ((dict(era_style='newest'), "era style 'newest': choose one of average, typical, direction"),
                     (dict(strength=5), 'strength 5: give a number from 0 (unchanged) to 4 (1 is the default)')):
        for method in ('color', 'fast'):
            with pytest.raises(UserError) as e: style_transfer(content, era='1990s', covers=coll, method=method, progress=False, **bad)
            assert str(e.value) == msg
    assert asked == []
