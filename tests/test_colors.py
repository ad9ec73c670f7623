"Chapter 3 (melonpy.colors): measures, statistics and `melonpy analyze` on fake and real collections."
from pathlib import Path
import numpy as np, pandas as pd
import pytest
from runcli import melonpy, melonpy_inproc
from PIL import Image
from melonpy.data import read_covers, make_awkward
from melonpy.splits import fake_scrape
from melonpy.colors import (cover_measures, colorfulness, pixel_mode, bootstrap_ci, permutation_test, era_stats,
                            palette, palette_shares, cover_stack, analyze, measure_names, hue_shares, verdict)

def solid(rgb, n=16): return np.full((n, n, 3), rgb, np.uint8)


def test_measures_of_known_images():
    grey, red, blue = solid((90, 90, 90)), solid((255, 0, 0)), solid((0, 0, 255))
    half = solid((0, 0, 0)); half[:, 8:] = 255
    m = cover_measures(np.stack([grey, red, blue, half]))
    assert m.loc[0, 'saturation'] == 0 and m.loc[0, 'colorfulness'] == 0 and m.loc[0, 'monochrome'] == 1
    assert np.isnan(m.loc[0, 'warm']) and m.loc[1, 'warm'] == 1 and m.loc[2, 'warm'] == 0
    assert abs(m.loc[0, 'brightness'] - 90 / 255) < 1e-3 and abs(m.loc[3, 'contrast'] - 0.5) < 1e-6
    # Hasler-Süsstrunk by hand for a two-colour image
    two = solid((200, 50, 50)); two[8:] = (30, 30, 200)
    px = two.reshape(-1, 3).astype(float)
    rg, yb = px[:, 0] - px[:, 1], (px[:, 0] + px[:, 1]) / 2 - px[:, 2]
    want = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    assert abs(colorfulness(two[None])[0] - want) < 1e-3


def test_pixel_mode_is_a_real_colour():
    r, b = (250, 0, 0), (0, 0, 250)
    x = np.array([[[r]], [[b]], [[b]], [[(0, 250, 0)]]], np.uint8)
    assert pixel_mode(x, 8)[0, 0].tolist() == [16, 16, 240]


def test_bootstrap_and_permutation():
    rng = np.random.default_rng(0)
    v = rng.normal(10, 2, 400)
    mean, lo, hi = bootstrap_ci(v, 1000)
    assert lo < 10 < hi and hi - lo < 1 and abs(mean - v.mean()) < 1e-12
    assert np.isnan(bootstrap_ci([np.nan])[0])
    same = permutation_test(rng.normal(size=300), rng.choice(['a', 'b', 'c'], 300), 1000)
    assert same > 0.01
    diff = permutation_test(np.r_[rng.normal(0, 1, 100), rng.normal(0.6, 1, 100)], np.repeat(['a', 'b'], 100), 1000)
    assert diff < 0.01
    assert np.isnan(permutation_test(np.ones(5), ['a'] * 5))


def test_hue_shares_and_verdict():
    x = np.stack([solid((255, 0, 0)), solid((0, 0, 255)), solid((128, 128, 128))])
    h = hue_shares(x)
    assert h.shape == (3, 12) and h.iloc[0, 0] == 1 and h.iloc[1, 8] == 1 and h.iloc[2].isna().all()
    rng = np.random.default_rng(0)
    m = pd.DataFrame(dict(brightness=np.r_[rng.normal(0.3, 0.1, 80), rng.normal(0.6, 0.1, 80)], contrast=rng.normal(0.2, 0.05, 160)))
    v = verdict(era_stats(m, np.repeat(['1990s', '2000s'], 80), n_boot=500), m)
    assert '**brightness** clearly differs' in v and '**contrast** does not differ' in v


def test_palette_finds_the_colours():
    x = np.stack([solid((240, 20, 20))] * 2 + [solid((20, 20, 240))] * 2 + [solid((20, 240, 20))])
    c, s = palette(x, k=3)
    assert sorted(map(tuple, c.tolist())) == sorted([(240, 20, 20), (20, 20, 240), (20, 240, 20)])
    assert np.allclose(sorted(s), [0.2, 0.4, 0.4], atol=0.02)
    sh = palette_shares(x, c)
    assert np.allclose(sh.sum(1), 1) and (sh.max(1) == 1).all()


def test_analyze_finds_a_planted_difference(tmp_path):
    "fake_scrape makes 2000s covers brighter: brightness must differ clearly; era_stats must be consistent."
    df = read_covers(fake_scrape(tmp_path/'s', n=60))
    st = analyze(df=df, out=tmp_path/'rep', n_boot=500, progress=False)
    b = st[st.measure == 'brightness'].set_index('era')
    assert b.p_value.iloc[0] < 0.01 and b.ci_low['2000s'] > b.ci_high['1990s']
    assert st.attrs['duplicates'] == 1, 'the re-released copy is counted once'
    assert (st.ci_low <= st['mean'] + 1e-9).all() and (st['mean'] <= st.ci_high + 1e-9).all()
    assert set(st.groupby('measure').era.count()) == {2}


def test_analyze_cli_scrape_output(tmp_path):
    d = fake_scrape(tmp_path/'s', n=40)
    r = melonpy('analyze', d, '--boot', 300, '--out', tmp_path/'rep', check=0)
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith('wrote') and '41 covers' not in last and '40 covers in 2 eras' in last
    assert 'brightness' in r.stdout and '1990s' in r.stdout
    names = {p.name for p in (tmp_path/'rep').iterdir()}
    assert {'rgb_histograms.png', 'era_images.png', 'hue.png', 'measures.png', 'palettes.png', 'stats.csv', 'verdict.md'} <= names
    for p in (tmp_path/'rep').glob('*.png'):
        with Image.open(p) as im: assert im.format == 'PNG' and min(im.size) > 100
    st = pd.read_csv(tmp_path/'rep'/'stats.csv')
    assert list(st.columns) == ['era', 'measure', 'n', 'mean', 'ci_low', 'ci_high', 'p_value']
    assert set(measure_names) <= set(st.measure) and (st.groupby('measure').era.nunique() == 2).all()
    hue = st[st.measure.str.startswith('hue ')]
    assert hue.measure.nunique() == 12 and np.allclose(hue.groupby('era')['mean'].sum(), 1)
    assert not [p for p in (tmp_path/'rep').iterdir() if p.name.startswith('.')], 'no temporary files left'


def test_analyze_skips_bad_images(tmp_path):
    fs = make_awkward(tmp_path/'imgs')
    pd.DataFrame(dict(file=[f'imgs/{p.name}' for p in fs.values()], year=[1990 + 10 * (i % 2) for i in range(len(fs))])
                 ).to_csv(tmp_path/'metadata.csv', index=False)
    r = melonpy('analyze', tmp_path, '--boot', 200, '--out', tmp_path/'rep', check=0)
    last = r.stdout.strip().splitlines()[-1]
    assert '5 skipped' in last and 'empty file (1)' in last and 'too small (1)' in last
    x, rows = cover_stack(read_covers(tmp_path), dedupe=False, progress=False)
    assert len(x) == 5 and sorted(Path(f).stem for f in rows.file) == ['alpha', 'cmyk', 'good', 'grey', 'palette']


@pytest.mark.parametrize('args,words', [
    (['--eras', '1890s'], ['1890s']), (['--quality', 'exact'], ['label_quality']), (['--boot', '5'], ['--boot']),
    (['--colours', '1'], ['--colours']), (['--size', '2'], ['--size'])])
def test_analyze_bad_options(tmp_path, args, words):
    d = fake_scrape(tmp_path/'s', n=10)
    code, err = melonpy_inproc('analyze', d, *args, '--out', tmp_path/'rep')
    line = [l for l in err.strip().splitlines() if 'reading covers' not in l]
    assert code == 2 and len(line) == 1 and all(w in line[0] for w in words), err
    assert not (tmp_path/'rep'/'stats.csv').exists()


def test_analyze_bad_index(tmp_path):
    (tmp_path/'c').mkdir()
    pd.DataFrame(dict(file=['a.jpg'])).to_csv(tmp_path/'c'/'metadata.csv', index=False)
    r = melonpy('analyze', tmp_path/'c', '--out', tmp_path/'rep')
    assert r.returncode == 2 and 'no year column' in r.stderr and 'Traceback' not in r.stderr
    r = melonpy('analyze', tmp_path/'nowhere', '--out', tmp_path/'rep')
    assert r.returncode == 2 and 'not a folder' in r.stderr
    assert not (tmp_path/'rep'/'stats.csv').exists()


@pytest.mark.covers
def test_analyze_cli_shared(covers_dir, tmp_path):
    melonpy('analyze', covers_dir, '--eras', '1990s', '2000s', '2010s', '--boot', 500, '--out', tmp_path/'rep', check=0)
    st = pd.read_csv(tmp_path/'rep'/'stats.csv')
    assert sorted(st.era.unique()) == ['1990s', '2000s', '2010s']
    n = st[st.measure == 'brightness'].set_index('era').n
    eras = read_covers(covers_dir, eras=['1990s', '2000s', '2010s']).era.value_counts()
    assert (n <= eras[n.index]).all() and (n >= eras[n.index] - 10).all()     # near-duplicates counted once
    assert ((st.ci_high - st.ci_low) > 0).all() and st.p_value.between(0, 1).all()
    assert (tmp_path/'rep'/'verdict.md').read_text().count('- **') >= len(measure_names)


def test_analyze_on_practice_scrape(tmp_path):
    "`melonpy analyze` on a real `melonpy scrape` output made against chapter 1's practice Melon."
    import melonpy.scrape as scrape_mod, melonpy.practice as practice
    charts, covers = practice.practice_charts(range(1997, 2013), per_year=12)
    out = tmp_path/'melon'
    with practice.PracticeMelon(charts, covers) as m:
        scrape_mod.scrape(range(1997, 2013), out, base_url=m.url, delay=0, progress=False)
    r = melonpy('analyze', out, '--boot', 300, '--out', tmp_path/'rep', check=0)
    st = pd.read_csv(tmp_path/'rep'/'stats.csv')
    assert sorted(st.era.unique()) == ['1990s', '2000s', '2010s']
    assert 'covers in 3 eras' in r.stdout.strip().splitlines()[-1]
