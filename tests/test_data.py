"Chapter 2 (melonpy.data): cover collections, bad images and indexes, the leak-free split, and `melonpy dataset`."
import os
from pathlib import Path
import numpy as np, pandas as pd
import pytest
from runcli import melonpy, melonpy_inproc, one_line_error
from PIL import Image
from melonpy.core import UserError
from melonpy.data import era_of, read_covers, load_covers, usable_covers, open_cover, BadImage, make_awkward, _mem_cache
from melonpy.splits import split_covers, cover_hashes, hash_distances, fake_scrape, synthetic_cover, reencode


def test_dataset_help():
    r = melonpy('dataset', '--help', check=0)
    assert '--gray' in r.stdout and '--eras' in r.stdout


def test_era_of():
    assert [era_of(y) for y in (1989, 1990, 1999, 2000, 2019)] == ['1980s', '1990s', '1990s', '2000s', '2010s']
    assert era_of(2008, bins=[2000, 2009, 2020]) == '2000-2008' and era_of(2009, bins=[2000, 2009, 2020]) == '2009-2019'
    assert era_of(1999, bins=[2000, 2009, 2020]) is None
    with pytest.raises(UserError): era_of('abc')


# --- a fake `melonpy scrape` output
def test_read_scrape_output(tmp_path):
    d = fake_scrape(tmp_path, n=20)
    charts = pd.read_csv(d/'charts.csv', keep_default_na=False)
    df = read_covers(d)
    with_cover = charts[charts.cover_file != '']
    assert len(df) == with_cover.album_id.nunique() and df.album_id.is_unique
    first_year = with_cover.groupby('album_id').year.min()
    assert (df.set_index('album_id').year == first_year[df.album_id].to_numpy()).all()
    assert all(Path(f).is_absolute() and Path(f).is_file() for f in df.file)
    assert set(df.era) == {era_of(y) for y in df.year}
    assert {'title', 'artists', 'rank'} <= set(df.columns)


def test_no_album_crosses_splits_scrape(tmp_path):
    d = fake_scrape(tmp_path, n=60)
    df = read_covers(d)
    a = split_covers(df, seed=1, progress=False)
    for seed in range(4):
        s = split_covers(df, seed=seed, progress=False)
        assert (s.groupby('group').split.nunique() == 1).all()
        g = s.set_index('album_id').group
        assert g['A005'] == g['A999'], 're-released cover (re-encoded copy under a new album id) must share a group'
        assert s.attrs['near_duplicates'] >= 1
        for era, part in s.groupby('era'): assert set(part.split) == {'train', 'valid', 'test'}, era
    assert (split_covers(df, seed=1, progress=False).split == a.split).all(), 'same seed, same split'


def test_near_duplicates_in_other_folders(tmp_path):
    "Copies of one cover (resized, re-encoded, brighter) land in one group even without any album key."
    base = [synthetic_cover(s, 120) for s in range(12)]
    (tmp_path/'1990s').mkdir(); (tmp_path/'2000s').mkdir()
    for i, im in enumerate(base): im.save(tmp_path/('1990s' if i % 2 else '2000s')/f'c{i}.jpg', quality=95)
    base[0].resize((70, 70)).save(tmp_path/'1990s'/'copy_resized.jpg')
    reencode(base[0], 25).save(tmp_path/'2000s'/'copy_jpeg.jpg', quality=25)
    Image.eval(base[3], lambda v: min(255, v + 20)).save(tmp_path/'2000s'/'copy_bright.png')
    df = read_covers(tmp_path)
    assert set(df.era) == {'1990s', '2000s'} and df.year.dropna().astype(int).isin([1990, 2000]).all()
    s = split_covers(df, valid_pct=0.3, test_pct=0.3, seed=3, progress=False).set_index(df.file.map(lambda f: Path(f).name))
    assert s.group['c0.jpg'] == s.group['copy_resized.jpg'] == s.group['copy_jpeg.jpg']
    assert s.group['c3.jpg'] == s.group['copy_bright.png']
    assert s.group.nunique() == 12
    assert (s.groupby('group').split.nunique() == 1).all()


# --- bad images
def test_bad_images(tmp_path):
    fs = make_awkward(tmp_path/'imgs')
    for k in ('good', 'grey', 'cmyk', 'alpha', 'palette'):
        im = open_cover(fs[k], 48)
        assert im.mode == 'RGB' and im.size == (48, 48), k
    assert open_cover(fs['alpha']).getpixel((0, 0)) == (255, 255, 255)
    for k in ('tiny', 'empty', 'corrupt', 'truncated', 'html'):
        with pytest.raises(BadImage): open_cover(fs[k], 48)
    x, why = load_covers(fs.values(), 32, progress=False)
    why = dict(zip(fs, why))
    assert {k for k, w in why.items() if w} == {'tiny', 'empty', 'corrupt', 'truncated', 'html'}
    assert 'too small' in why['tiny'] and 'empty' in why['empty']


def bad_collection(d):
    fs = make_awkward(d/'imgs')
    rows = [dict(file=f'imgs/{p.name}', year=1990 + 10 * (i % 2), label_quality='exact') for i, p in enumerate(fs.values())]
    rows.append(dict(file='imgs/missing.jpg', year=1995, label_quality='exact'))
    rows.append(dict(file='imgs/good.jpg', year='unknown', label_quality='exact'))
    pd.DataFrame(rows).to_csv(d/'metadata.csv', index=False)
    return fs


def test_dataset_skips_bad_images(tmp_path):
    bad_collection(tmp_path)
    df = read_covers(tmp_path)
    assert df.attrs['dropped'] == {'no valid year': 1, 'file not found': 1}
    ok, skipped = usable_covers(df, progress=False)
    assert len(ok) == 5 and len(skipped) == 5 and skipped.reason.str.len().gt(0).all()
    r = melonpy('dataset', tmp_path, '--size', 24, '--out', tmp_path/'x.npz', check=0)
    out = r.stdout.strip().splitlines()
    assert len(out) == 1 and '5 skipped' in out[0] and 'too small (1)' in out[0] and 'empty file (1)' in out[0]
    assert 'file not found' in out[0] and 'no valid year' in out[0]
    z = np.load(tmp_path/'x.npz')
    assert z['x'].shape == (5, 24, 24, 3) and z['x'].dtype == np.float32
    assert sorted(Path(p).stem for p in z['path']) == ['alpha', 'cmyk', 'good', 'grey', 'palette']


# --- bad indexes
@pytest.mark.parametrize('kind', ['no_index', 'no_year', 'no_file', 'empty_csv', 'binary_csv', 'no_covers', 'not_a_dir'])
def test_bad_index(tmp_path, kind):
    d = tmp_path/'c'; d.mkdir()
    Image.new('RGB', (64, 64)).save(d/'a.jpg')
    if kind == 'no_year': pd.DataFrame(dict(file=['a.jpg'], decade=['1990s'])).to_csv(d/'metadata.csv', index=False)
    if kind == 'no_file': pd.DataFrame(dict(path=['a.jpg'], year=[1995])).to_csv(d/'metadata.csv', index=False)
    if kind == 'empty_csv': (d/'charts.csv').write_text('')
    if kind == 'binary_csv': (d/'metadata.csv').write_bytes(bytes(range(256)) * 20)
    if kind == 'no_covers': pd.DataFrame(dict(year=[2001], album_id=[1], cover_file=[''])).to_csv(d/'charts.csv', index=False)
    src = d if kind != 'not_a_dir' else d/'a.jpg'
    with pytest.raises(UserError) as e: read_covers(src)
    msg = str(e.value)
    want = {'no_index': 'charts.csv', 'no_year': 'no year column', 'no_file': 'no file column', 'empty_csv': 'not a readable',
            'binary_csv': 'metadata.csv', 'no_covers': 'no downloaded covers', 'not_a_dir': 'not a folder'}[kind]
    assert want in msg, msg
    one_line_error(melonpy('dataset', src, '--out', tmp_path/'x.npz'), want)
    assert not (tmp_path/'x.npz').exists()


def test_bad_options(tmp_path):
    d = fake_scrape(tmp_path/'s', n=12)
    one_line_error(melonpy('dataset', d, '--eras', '1890s', '--out', tmp_path/'x.npz'), '1890s')
    for args, word in [(['--quality', 'exact'], 'label_quality'), (['--valid-pct', '0.6', '--test-pct', '0.5'], 'valid_pct'),
                       (['--size', '3'], '--size')]:
        code, err = melonpy_inproc('dataset', d, *args, '--out', tmp_path/'x.npz')
        lines = [l for l in err.strip().splitlines() if 'reading covers' not in l]
        assert code == 2 and len(lines) == 1 and word in lines[0], err
    code, err = melonpy_inproc('dataset', d, '--out', tmp_path/'x.csv')
    assert code == 2 and '.npz' in err
    assert not (tmp_path/'x.npz').exists()


def test_dataset_cli_scrape_output(tmp_path):
    d = fake_scrape(tmp_path/'s', n=40)
    melonpy('dataset', d, '--size', 48, '--gray', '--out', tmp_path/'g.npz', check=0)
    z = np.load(tmp_path/'g.npz')
    assert z['x'].shape == (41, 48, 48) and 0 <= z['x'].min() and z['x'].max() <= 1
    assert list(z['classes']) == ['1990s', '2000s'] and set(z['split']) == {'train', 'valid', 'test'}
    parts = pd.DataFrame(dict(g=z['group'], s=z['split']))
    assert parts.groupby('g').s.nunique().max() == 1
    # the grey values are the image's own, scaled to [0, 1]
    i = 0
    ref = np.asarray(open_cover(z['path'][i], 48).convert('L'), dtype=np.float32) / 255
    assert np.abs(z['x'][i] - ref).mean() < 0.01


def test_cache_notices_a_changed_file(tmp_path):
    f = tmp_path/'c.png'
    Image.new('RGB', (64, 64), (255, 0, 0)).save(f)
    assert load_covers([f], 16, progress=False)[0][0, 0, 0].tolist() == [255, 0, 0]
    Image.new('RGB', (64, 64), (0, 0, 255)).save(f)
    os.utime(f, ns=(os.stat(f).st_atime_ns, os.stat(f).st_mtime_ns + 10**9))
    _mem_cache.clear()
    assert load_covers([f], 16, progress=False)[0][0, 0, 0].tolist() == [0, 0, 255]


def test_cover_dls(tmp_path):
    df = split_covers(read_covers(fake_scrape(tmp_path, n=40)), seed=0, progress=False)
    from melonpy.splits import cover_dls
    dls = cover_dls(df, size=32, bs=4)
    xb, yb = dls.one_batch()
    assert tuple(xb.shape) == (4, 3, 32, 32) and list(dls.vocab) == ['1990s', '2000s']
    train_files = {Path(f).name for f in df[df.split == 'train'].file}
    assert {Path(r.file).name for r in dls.train_ds.items.itertuples()} == train_files
    assert len(dls.valid_ds) == (df.split == 'valid').sum()


# --- the shared collection
@pytest.mark.covers
def test_shared_collection_split(covers_dir):
    df = read_covers(covers_dir, eras=['1990s', '2000s', '2010s'])
    assert sorted(df.era.unique()) == ['1990s', '2000s', '2010s']
    s = split_covers(df, progress=False)
    assert (s.groupby('group').split.nunique() == 1).all()
    x, why = load_covers(s.file, 48, progress=False)
    ok = np.flatnonzero(np.array(why) == '')
    D = hash_distances(cover_hashes(x[ok]))
    i, j = np.nonzero(np.triu(D <= 8, 1))
    assert len(i) >= 1, 'the shared collection holds known near-duplicates'
    assert (s.split.to_numpy()[ok[i]] == s.split.to_numpy()[ok[j]]).all()
    for era, part in s.groupby('era'):
        share = part.split.value_counts(normalize=True)
        assert abs(share['test'] - 0.15) < 0.03 and abs(share['valid'] - 0.15) < 0.03, (era, share)
    exact = read_covers(covers_dir, quality='exact')
    assert (exact.label_quality == 'exact').all() and len(exact) < len(read_covers(covers_dir))


@pytest.mark.covers
def test_dataset_cli_shared(covers_dir, tmp_path):
    r = melonpy('dataset', covers_dir, '--size', 48, '--eras', '1990s,2000s,2010s', '--out', tmp_path/'c.npz', check=0)
    assert 'near-duplicate and' in r.stdout and 'groups' in r.stdout
    z = np.load(tmp_path/'c.npz')
    n = len(read_covers(covers_dir, eras=['1990s', '2000s', '2010s']))
    assert z['x'].shape == (n, 48, 48, 3) and list(z['classes']) == ['1990s', '2000s', '2010s']
    assert pd.DataFrame(dict(g=z['group'], s=z['split'])).groupby('g').s.nunique().max() == 1
    assert np.bincount(z['y']).min() > 100


@pytest.fixture(scope='module')
def practice_scrape(tmp_path_factory):
    "A real `melonpy scrape` output, made against chapter 1's practice Melon on loopback."
    import melonpy.scrape as scrape_mod, melonpy.practice as practice
    charts, covers = practice.practice_charts(range(1996, 2014), per_year=20)
    out = tmp_path_factory.mktemp('scrape')/'melon'
    with practice.PracticeMelon(charts, covers, missing=[next(iter(covers))]) as m:
        scrape_mod.scrape(range(1996, 2014), out, base_url=m.url, delay=0, progress=False)
    return out


def test_dataset_on_practice_scrape(practice_scrape, tmp_path):
    charts = pd.read_csv(practice_scrape/'charts.csv', keep_default_na=False)
    albums = charts[charts.cover_file != ''].album_id.nunique()
    assert (charts.cover_file == '').any(), 'one cover is missing on the practice server'
    melonpy('dataset', practice_scrape, '--size', 32, '--eras', '1990s', '2000s', '2010s', '--out', tmp_path/'p.npz', check=0)
    z = np.load(tmp_path/'p.npz')
    assert len(z['x']) == albums and list(z['classes']) == ['1990s', '2000s', '2010s']
    parts = pd.DataFrame(dict(g=z['group'], s=z['split'], y=z['y']))
    assert parts.groupby('g').s.nunique().max() == 1
    assert (pd.crosstab(parts.y, parts.s) > 0).all().all(), 'every era in every split'
    first = charts[charts.cover_file != ''].groupby('album_id').year.min()
    got = dict(zip([Path(p).stem for p in z['path']], z['year']))
    assert all(got[str(a)] == y for a, y in first.items()), 'an album gets its earliest chart year'


# --- every decade (`--eras all`) and a source held out
def _decades(d, counts, sources=None):
    "A metadata.csv collection in `d` with `counts[decade]` covers per decade (synthetic images), `sources` cycling over the rows."
    d.mkdir(parents=True, exist_ok=True)
    rows = []
    for k, (decade, n) in enumerate(counts.items()):
        for i in range(n):
            f = f'{decade}_{i:03d}.jpg'
            synthetic_cover(100 * k + i, 48).save(d/f)
            rows.append(dict(file=f, year=int(decade[:4]) + i % 10, artist=f'{decade} artist {i}',
                             source=(sources or ['one'])[i % len(sources or ['one'])]))
    pd.DataFrame(rows).to_csv(d/'metadata.csv', index=False)
    return d


def test_eras_all_lists_what_it_left_out(tmp_path):
    "`--eras all` keeps every decade with at least 20 covers, in time order, and says which it left out and why."
    from melonpy.data import era_list, min_era_covers
    d = _decades(tmp_path/'c', {'2000s': 22, '1990s': 25, '1950s': 3})
    df = read_covers(d, eras='all')
    assert df.attrs['eras'] == ['1990s', '2000s'] and df.attrs['left_out'] == {'1950s': 3} and len(df) == 47
    assert df.attrs['dropped'] == {f'eras with fewer than {min_era_covers} covers (1950s)': 3}
    assert read_covers(d, eras='all', min_covers=3).attrs['eras'] == ['1950s', '1990s', '2000s']
    r = melonpy('dataset', d, '--eras', 'all', '--size', 16, '--out', tmp_path/'x.npz', check=0)
    assert 'in 2 eras (1990s, 2000s)' in r.stdout and 'eras with fewer than 20 covers (1950s)' in r.stdout, r.stdout
    assert list(np.load(tmp_path/'x.npz')['classes']) == ['1990s', '2000s']
    with pytest.raises(UserError, match='no era of'): read_covers(d, eras='all', min_covers=30)
    assert era_list(['all']) == ['all']


def test_split_by_source_holds_a_source_out(tmp_path):
    from melonpy.splits import split_by_source
    d = _decades(tmp_path/'c', {'1990s': 30, '2000s': 30}, sources=['a', 'b', 'c'])
    df = read_covers(d)
    s = split_by_source(df, 'c,b', seed=3, progress=False)
    assert (s[s.source.isin(['b', 'c'])].split == 'test').all() and set(s[s.source == 'a'].split) == {'train', 'valid', 'test'}
    assert (s.groupby('group').split.nunique() == 1).all()
    plain = split_covers(df, seed=3, progress=False)
    rest = s.source == 'a'
    assert (s.split[rest] == plain.split[rest]).all()
    with pytest.raises(UserError, match='choose among a, b, c'): split_by_source(df, 'd', progress=False)
    with pytest.raises(UserError, match='no source column'): split_by_source(df.drop(columns='source'), 'a', progress=False)


@pytest.mark.covers
def test_shared_all_eras_and_gaon_held_out(covers_dir):
    from melonpy.splits import split_by_source
    every = read_covers(covers_dir, eras='all')
    assert every.attrs['eras'] == ['1960s', '1970s', '1980s', '1990s', '2000s', '2010s', '2020s'], every.attrs
    assert set(every.attrs['left_out']) == {'1830s', '1870s', '1880s', '1900s', '1910s', '1930s', '1940s', '1950s'}
    s = split_by_source(read_covers(covers_dir, eras=['1990s', '2000s', '2010s']), 'ucsd_dsc160_group18_gaon', progress=False)
    gaon = s.source == 'ucsd_dsc160_group18_gaon'
    assert gaon.sum() == 72 and (s.split[gaon] == 'test').all() and (s.groupby('group').split.nunique() == 1).all()


# --- caches are untrusted: a cache of another shape or type is read again and overwritten, never used
BAD_IMAGE_CACHES = {   # name: (keys, x, why) written where the cache of 48 px lives, given the real keys
    'other_size': lambda k: (k, np.zeros((len(k), 10, 10, 3), np.uint8), ['' for _ in k]),      # `dataset` wrote (10, 10, 3) arrays
    'float_pixels': lambda k: (k, np.full((len(k), 48, 48, 3), 0.5), ['' for _ in k]),
    'grey_pixels': lambda k: (k, np.zeros((len(k), 48, 48), np.uint8), ['' for _ in k]),
    'fewer_rows': lambda k: (k, np.zeros((1, 48, 48, 3), np.uint8), ['' for _ in k]),
    'reasons_missing': lambda k: (k, np.zeros((len(k), 48, 48, 3), np.uint8), ['']),
    'numbers_as_keys': lambda k: (np.arange(len(k)), np.zeros((len(k), 48, 48, 3), np.uint8), ['' for _ in k]),
}

@pytest.mark.parametrize('kind', BAD_IMAGE_CACHES)
def test_bad_image_cache_is_read_again(tmp_path, monkeypatch, kind):
    from melonpy import data
    d = fake_scrape(tmp_path/'c', n=8)
    files = read_covers(d).file.tolist()
    monkeypatch.setenv('MELONPY_CACHE', str(tmp_path/'cache'))
    _mem_cache.clear()
    good, why = load_covers(files, 48, progress=False)
    keys = [data.file_key(f) + '|32' for f in files]
    k, x, w = BAD_IMAGE_CACHES[kind](keys)
    with open(data._disk_cache(48), 'wb') as f: np.savez(f, keys=np.array(k), x=x, why=np.array(w))
    _mem_cache.clear()
    again, why2 = load_covers(files, 48, progress=False)
    assert again.shape == good.shape and again.dtype == np.uint8 and np.array_equal(again, good) and why2 == why
    with np.load(data._disk_cache(48)) as z: assert z['x'].shape == (len(files), 48, 48, 3)   # overwritten with a good one
    _mem_cache.clear()


def test_nul_byte_in_an_index_entry(tmp_path):
    "A NUL byte in a metadata.csv or charts.csv entry (no file can have one) is a dropped row, not `ValueError: embedded null byte`."
    d = fake_scrape(tmp_path/'c', n=8)
    charts = pd.read_csv(d/'charts.csv', keep_default_na=False)
    charts.loc[0, 'cover_file'] = 'covers/A000\x00.jpg'
    charts.to_csv(d/'charts.csv', index=False)
    df = read_covers(d)
    assert len(df) == len(read_covers(fake_scrape(tmp_path/'c2', n=8))) - 1 and df.attrs['dropped']
    m = tmp_path/'m'; m.mkdir()
    synthetic_cover(0).save(m/'a.jpg'); synthetic_cover(1).save(m/'b.jpg')
    (m/'metadata.csv').write_text('file,year\na.jpg,1995\nb\x00.jpg,1996\n')
    assert read_covers(m).file.map(lambda f: Path(f).name).tolist() == ['a.jpg']


@pytest.mark.parametrize('kind', ['uint16_png', 'int32_tiff', 'float_tiff_0_1', 'float_tiff_0_255'])
def test_16_bit_and_float_images_are_scaled(tmp_path, kind):
    "A 16-bit greyscale ramp (0-65535) and float images (0-1 or 0-255) read as the same grey ramp as an 8-bit one, not 97 % white or black."
    ramp = np.linspace(0, 1, 256 * 64, dtype=np.float64).reshape(64, 256)
    a = dict(uint16_png=(ramp * 65535).astype(np.uint16), int32_tiff=(ramp * 65535).astype(np.int32),
             float_tiff_0_1=ramp.astype(np.float32), float_tiff_0_255=(ramp * 255).astype(np.float32))[kind]
    p = tmp_path/('x.png' if 'png' in kind else 'x.tif')
    Image.fromarray(a).save(p)
    x = np.asarray(open_cover(p), dtype=float)
    assert abs(x.mean() - 127.5) < 2 and x.min() < 3 and x.max() > 252, (Image.open(p).mode, x.mean())


def test_formula_titles_are_guarded(tmp_path):
    "Titles and artists beginning with = + - @ go into charts.csv and split.csv behind a quote (a spreadsheet shows them as text); melonpy reads them back unchanged."
    from melonpy.scrape import _save_table
    from melonpy.course import dataset_stage, read_split
    d = fake_scrape(tmp_path/'c', n=40)
    charts = pd.read_csv(d/'charts.csv', keep_default_na=False)
    evil = ['=HYPERLINK("http://x","click")', '+1+1', '-2+3', '@SUM(A1)', "'=quoted already"]
    charts.loc[:len(evil) - 1, 'title'] = evil
    charts.loc[:len(evil) - 1, 'artists'] = evil
    _save_table(charts, d/'charts.csv')                      # as `melonpy scrape` writes it
    raw = pd.read_csv(d/'charts.csv', keep_default_na=False)
    assert not raw.title.str[:1].isin(list('=+-@')).any() and not raw.artists.str[:1].isin(list('=+-@')).any()
    df = read_covers(d)
    assert set(evil) <= set(df.title)                         # read back exactly
    dataset_stage(tmp_path/'run', d, dict(eras=['1990s', '2000s'], quality=None, max_per_era=None, seed=0, color_size=32), progress=False)
    raw = pd.read_csv(tmp_path/'run'/'dataset'/'split.csv', keep_default_na=False)
    assert not raw.title.str[:1].isin(list('=+-@')).any()
    assert set(evil) & set(df.file.map(dict(zip(df.file, df.title)).get)) <= set(read_split(tmp_path/'run').title)


def test_run_dataset_stage_with_a_non_utf8_file_name(tmp_path):
    "An era-folder collection with a file name that is not UTF-8: `run`'s dataset stage writes split.csv and reads the name back exactly."
    from melonpy.course import dataset_stage, read_split
    c = tmp_path/'c'
    for k, era in enumerate(('1990s', '2000s')):
        (c/era).mkdir(parents=True)
        for i in range(10): synthetic_cover(100 * k + i, 64).save(c/era/f'{i}.jpg')
    odd = os.path.join(os.fsencode(c/'1990s'), b'caf\xe9.jpg')
    synthetic_cover(999, 64).save(os.fsdecode(odd), format='JPEG')
    dataset_stage(tmp_path/'run', c, dict(eras=['1990s', '2000s'], quality=None, max_per_era=None, seed=0, color_size=32), progress=False)
    assert os.fsdecode(odd) in set(read_split(tmp_path/'run').file)


def test_era_folders_do_not_follow_links_out(tmp_path):
    "An era folder's file that links out of the collection, and an era folder that is a link out: refused and counted, as index entries are."
    c, outside = tmp_path/'c', tmp_path/'secret'
    outside.mkdir()
    for i in range(3): synthetic_cover(50 + i, 64).save(outside/f'{i}.jpg')
    for k, era in enumerate(('1990s', '2000s')):
        (c/era).mkdir(parents=True)
        for i in range(3): synthetic_cover(10 * k + i, 64).save(c/era/f'{i}.jpg')
    (c/'1990s'/'link.jpg').symlink_to(outside/'0.jpg')
    (c/'2010s').symlink_to(outside, target_is_directory=True)
    (c/'2000s'/'inside.jpg').symlink_to(c/'1990s'/'1.jpg')       # a link inside the collection is fine
    df = read_covers(c)
    assert all(Path(f).resolve().is_relative_to(c.resolve()) for f in df.file), df.file.tolist()
    assert len(df) == 7 and df.attrs['dropped'] == {'path outside the collection': 4}
