"The linear family of chapter 4 (frozen open_nsfw / EfficientNet-Lite features + a linear model) through the real commands: train, predict, and what the model file holds."
import json, re
from pathlib import Path
import pandas as pd
import pytest
from safetensors import safe_open
from cli import melonpy, melonpy_env


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
    from melonpy.models import train_era_model, export_era_model, load_era_model, telling_features, predict_covers
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
