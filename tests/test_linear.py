"The linear family of chapter 4 (frozen open_nsfw / EfficientNet-Lite features + a linear model) through the real commands: train, predict, and what the model file holds."
import json, re
from pathlib import Path
import pandas as pd
import pytest
from safetensors import safe_open
from runcli import melonpy, melonpy_env


@pytest.fixture(scope='module')
def year_model(covers_dir, tmp_path_factory):
    "An nsfw_linear model with the year head, trained by `melonpy train` on 30 covers per era, in a real process."
    d = tmp_path_factory.mktemp('linear')
    r = melonpy('train', str(covers_dir), '--arch', 'nsfw_linear', '--head', 'year', '--max-per-era', '30',
                '--bs', '16', '--out', str(d/'year.safetensors'))
    return d, r


@pytest.mark.covers
def test_train_a_year_model(year_model):
    "It trains with no epochs (a bar over the covers going through the frozen network instead), saves only its own layer, and says what it chose."
    d, r = year_model
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1].startswith('trained nsfw_linear on'), r.stdout[-1000:]
    assert re.search(r'nsfw_linear features:\s+\d+%', r.stderr), r.stderr[-2000:]       # the extraction shows a bar
    f = d/'year.safetensors'
    assert f.stat().st_size < 100_000                                                       # not the 24 MB network
    with safe_open(str(f), framework='pt') as m:
        keys, card = set(m.keys()), json.loads(m.metadata()['melonpy'])['card']
    assert {'linear.weight', 'linear.bias', 'mean', 'std', 'edges', 'sigma', 'rank'} == keys
    assert card['arch'] == 'nsfw_linear' and card['head'] == 'year' and card['size'] == 224
    assert card['summary']['alpha'] > 0 and card['summary']['sigma'] > 0 and 'valid_year_mae' in card['summary']


@pytest.mark.covers
def test_predict_gives_a_year(year_model, covers_dir, tmp_path):
    "`melonpy predict` of a year model writes the predicted year beside the era probabilities, which follow the year: the later the year, the likelier the latest era."
    d, r = year_model
    assert r.returncode == 0, r.stderr[-2000:]
    meta = pd.read_csv(covers_dir/'metadata.csv')
    files = [str(covers_dir/meta[meta.decade == e].file.iloc[-1]) for e in ('1990s', '2000s', '2010s')]
    p = melonpy('predict', str(d/'year.safetensors'), *files, '--csv', str(tmp_path/'p.csv'))
    assert p.returncode == 0, p.stderr[-2000:]
    t = pd.read_csv(tmp_path/'p.csv')
    assert list(t.columns) == ['file', 'pred', 'prob_1990s', 'prob_2000s', 'prob_2010s', 'year', 'seen', 'error']
    assert t.year.between(1950, 2050).all() and (t.filter(like='prob_').sum(axis=1) - 1).abs().max() < 1e-3
    s = t.sort_values('year')
    assert s.prob_2010s.is_monotonic_increasing and s.prob_1990s.is_monotonic_decreasing, s[['year', 'prob_1990s', 'prob_2010s']]


@pytest.mark.covers
def test_logistic_model_and_its_telling_features(covers_dir, tmp_path):
    "A logistic lite0_linear model trains, loads back and names the features that push toward each era."
    from melonpy.learners import train_era_model, predict_covers
    from melonpy.interpret import telling_features
    from melonpy.model_file import export_era_model, load_era_model
    learn = train_era_model(covers_dir, eras=['1990s', '2010s'], arch='lite0_linear', max_per_era=20, bs=8, quiet=True)
    export_era_model(learn, tmp_path/'m.safetensors')
    back = load_era_model(tmp_path/'m.safetensors')
    files = learn.card.covers.file[:3].tolist()
    a, b = predict_covers(learn, files), predict_covers(back, files)
    assert (a.pred == b.pred).all() and (a.filter(like='prob_') - b.filter(like='prob_')).abs().max().max() < 1e-5
    t = telling_features(back, k=2)
    assert list(t.era) == ['1990s', '1990s', '2010s', '2010s'] and t.feature.str.match(r'(stage \d (mean|std)|head) \d+').all()


@pytest.mark.covers
def test_default_is_the_ensemble(covers_dir, tmp_path):
    "`melonpy train` with no --arch trains the measured default, two linear models averaged, and saves both members' layers only."
    r = melonpy('train', str(covers_dir), '--eras', '1990s,2010s', '--max-per-era', '20', '--bs', '8', '--out', str(tmp_path/'d.safetensors'),
                env=melonpy_env(MELONPY_CACHE=tmp_path/'cache'))   # its own cache: both networks read the covers
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1].startswith('trained nsfw_lite0_linear on'), r.stdout[-1000:]
    assert 'nsfw_linear features:' in r.stderr and 'lite0_linear features:' in r.stderr
    with safe_open(str(tmp_path/'d.safetensors'), framework='pt') as m: keys = set(m.keys())
    assert {'members.0.linear.weight', 'members.1.linear.weight', 'members.0.mean', 'members.1.std'} <= keys
    assert not [k for k in keys if '.features.' in k] and (tmp_path/'d.safetensors').stat().st_size < 200_000


def _sourced_covers(d, n=14, seed=0):
    "A small collection with a `source` column: `kpop` holds the 2010s only, `mixed` every era; each era has its own colour and stripes."
    import numpy as np
    from PIL import Image
    rng, rows = np.random.default_rng(seed), []
    for k, (era, year) in enumerate([('1990s', 1995), ('2000s', 2004), ('2010s', 2015)]):
        (d/era).mkdir(parents=True, exist_ok=True)
        for source in (['mixed', 'kpop'] if era == '2010s' else ['mixed']):
            for i in range(n):
                a = rng.integers(0, 60, (40, 40, 3)).astype(np.uint8)
                a[..., k] += 150
                a[::(k + 2) * 2] //= 3
                if source == 'kpop': a[:, :8] = 255                       # what a source looks like, whatever the era
                f = f'{era}/{source}_{i:03d}.jpg'
                Image.fromarray(a).save(d/f)
                rows.append(dict(file=f, year=year + i % 5, artist=f'{source}-{era}-{i}', source=source))
    pd.DataFrame(rows).to_csv(d/'metadata.csv', index=False)
    return d


@pytest.mark.parametrize('balance', ['none', 'both'])
def test_train_with_a_balance(tmp_path, balance):
    "`--balance` reaches the fit and the model card; the summary line gives each era's recall and the notes the figures on the sources that mix eras."
    d = _sourced_covers(tmp_path/'covers')
    r = melonpy('train', str(d), '--arch', 'nsfw_linear', '--balance', balance, '--bs', '8', '--out', str(tmp_path/'m.safetensors'))
    assert r.returncode == 0, r.stderr[-2000:]
    last = r.stdout.strip().splitlines()[-1]
    assert re.search(r'recall 1990s [0-9.]+, 2000s [0-9.]+, 2010s [0-9.]+', last), last
    assert 'test covers of the sources that mix eras (mixed)' in r.stdout and 'recall of the 2000s' in r.stdout, r.stdout[-2000:]
    with safe_open(str(tmp_path/'m.safetensors'), framework='pt') as m: card = json.loads(m.metadata()['melonpy'])['card']
    assert card['summary']['balance'] == balance


def test_fit_ignores_the_one_era_source_when_balanced(tmp_path):
    "With balance 'sources', the covers of a one-era source weigh nothing: the fit is the same as without them; with 'none' they change it."
    import numpy as np
    from melonpy.data import read_covers
    from melonpy.splits import split_covers
    from melonpy.networks import linear_members
    from melonpy.learners import train_era_model
    df = split_covers(read_covers(_sourced_covers(tmp_path/'covers')), progress=False)
    weights = lambda t, b: linear_members(train_era_model(t, eras=None, arch='nsfw_linear', balance=b, bs=8, quiet=True).model)[0].linear.weight.detach().numpy()
    kp = (df.source == 'kpop') & df.split.isin(['train', 'valid'])
    without = df[~kp]
    assert np.allclose(weights(df, 'sources'), weights(without, 'sources'), atol=1e-5)     # the K-pop-like source teaches nothing
    assert not np.allclose(weights(df, 'none'), weights(without, 'none'), atol=1e-5)


def test_one_unreadable_cover_does_not_stop_the_linear_family(tmp_path):
    "A truncated JPEG in the collection is skipped (as `dataset` and the networks skip it), not a crash of the linear family's fit."
    d = _sourced_covers(tmp_path/'covers')
    good = (d/'1990s'/'mixed_000.jpg').read_bytes()
    (d/'1990s'/'mixed_001.jpg').write_bytes(good[:len(good) // 3])          # truncated, listed in metadata.csv
    r = melonpy('train', str(d), '--arch', 'nsfw_linear', '--bs', '8', '--out', str(tmp_path/'m.safetensors'))
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1].startswith('trained nsfw_linear on'), r.stdout[-1000:]


def test_unknown_balance_is_one_line():
    from runcli import one_line_error, melonpy_inproc
    one_line_error(melonpy_inproc('train', '.', '--balance', 'kpop', '--out', 'm.safetensors'), '--balance', 'both')
