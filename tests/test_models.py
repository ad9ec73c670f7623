"`melonpy train` and `melonpy predict` as real processes on a small subset of the shared covers, and their bad-input errors."
import json, os, pickle, re, shutil
import numpy as np
from PIL import Image
from pathlib import Path
import pandas as pd
import pytest
from runcli import melonpy, melonpy_inproc, melonpy_peak, one_line_error


@pytest.fixture(scope='module')
def trained(covers_dir, tmp_path_factory):
    "A squeezenet1_1 era model trained by `melonpy train` on 40 covers per era, in a real process."
    d = tmp_path_factory.mktemp('train')
    r = melonpy(*['train', str(covers_dir), '--arch', 'squeezenet1_1', '--eras', '1990s,2010s', '--max-per-era', '40', '--size', '64',
                  '--epochs', '1', '--freeze-epochs', '1', '--out', str(d/'era.safetensors')])
    return d, r

@pytest.mark.covers
def test_train_end_to_end(trained):
    d, r = trained
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.strip().splitlines()
    assert lines[-1].startswith('trained squeezenet1_1 on') and 'baseline' in lines[-1] and str(d/'era.safetensors') in lines[-1]
    assert re.search(r'paired test p = [0-9.e-]+: (better than the baseline beyond chance|could be chance|no better than the baseline)', lines[-1]), lines[-1]
    table = '\n'.join(lines)
    for k in ('accuracy', 'macro-F1', 'mean error in eras', 'one era off', 'year error in years', 'baseline (', 'recall of the 1990s', 'recall of the 2010s'):
        assert k in table, k
    assert re.search(r'recall 1990s [0-9.]+, 2010s [0-9.]+', lines[-1]), lines[-1]                 # each era's recall in the summary line
    assert 'sources that mix eras' in table                                                          # the figures on covers like a user's
    assert re.search(r'year error [0-9.]+ years against [0-9.]+ for always answering \d{4} .*95 % interval \[[-+][0-9.]+, [-+][0-9.]+\]', table), table
    assert 'per source' in table and 'pudding_sample_trees' in table   # the shared covers have a source column
    assert (d/'era.safetensors').stat().st_size > 1e6
    assert not [p for p in d.iterdir() if p.name.startswith('.')], 'temporary file left behind'

@pytest.mark.covers
def test_train_with_a_source_held_out(covers_dir, tmp_path):
    "`--test-sources`: the held-out source is all test (sampled apart with --max-per-era), and the per-source table shows it."
    # squeezenet1_1 at 64 px, as the `trained` fixture: the split and the per-source table are the same for every --arch, and
    # the default linear family's two networks at 224 px made the test 35 s instead of 10 (tests/test_linear.py trains that family)
    r = melonpy('train', covers_dir, '--test-sources', 'ucsd_dsc160_group18_gaon', '--arch', 'squeezenet1_1', '--max-per-era', 30, '--size', 64,
                '--epochs', 1, '--freeze-epochs', 1, '--threads', 1, '--out', tmp_path/'m.safetensors', check=0)
    out = r.stdout
    assert '--test-sources ucsd_dsc160_group18_gaon: 30 covers held out as test' in out, out
    row = next(l for l in out.splitlines() if l.strip().startswith('ucsd_dsc160_group18_gaon'))
    name, n, eras, acc, commonest, c_acc = row.split()
    assert (n, eras, commonest, c_acc) == ('30', '2010s:30', '2010s', '1.000') and 0 <= float(acc) <= 1, row
    m = re.search(r'test metrics \((\d+) covers', out)
    assert m and int(m.group(1)) >= 30, out


def test_train_all_eras(tmp_path):
    "`melonpy train --eras all` on a small synthetic collection: the decades with 20 covers or more, the rest named as left out."
    from melonpy.splits import synthetic_cover
    rows = []
    for k, (decade, n) in enumerate({'1980s': 3, '1990s': 24, '2010s': 24}.items()):
        for i in range(n):
            synthetic_cover(50 * k + i, 32).save(tmp_path/f'{decade}{i}.jpg')
            rows.append(dict(file=f'{decade}{i}.jpg', year=int(decade[:4]) + i % 10))
    pd.DataFrame(rows).to_csv(tmp_path/'metadata.csv', index=False)
    import contextlib, io
    from melonpy.cli import main
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(['train', str(tmp_path), '--eras', 'all', '--arch', 'cnn', '--size', '32', '--epochs', '1', '--freeze-epochs', '0',
                     '--bs', '8', '--out', str(tmp_path/'m.safetensors')]) == 0
    assert '--eras all: 1990s, 2010s; left out (fewer than 20 covers): 1980s (3)' in out.getvalue(), out.getvalue()
    from melonpy.model_file import read_card
    assert list(read_card(tmp_path/'m.safetensors').eras) == ['1990s', '2010s']


@pytest.mark.covers
def test_train_shows_a_training_bar_that_moves(trained):
    "`melonpy train` shows a bar over the training batches, with the epoch and the running loss, whose count advances."
    _, r = trained
    counts = re.findall(r'training squeezenet1_1 \((?:new head|all layers)\):\s+\d+%\|[^|]*\|\s*(\d+)/(\d+)', r.stderr)
    assert len({int(k) for k, _ in counts}) >= 2, r.stderr[-3000:]
    assert 'epoch=1/1' in r.stderr and 'loss=' in r.stderr, r.stderr[-3000:]


@pytest.mark.covers
def test_predict_end_to_end(trained, covers_dir, tmp_path):
    d, r = trained
    assert r.returncode == 0, r.stderr[-2000:]
    imgs = tmp_path/'imgs'; imgs.mkdir()
    meta = pd.read_csv(covers_dir/'metadata.csv')
    picks = [meta[meta.decade == e].file.iloc[0] for e in ('1990s', '2010s')]
    for f in picks: shutil.copy(covers_dir/f, imgs/Path(f).name)
    (imgs/'broken.jpg').write_bytes(b'\xff\xd8 this is not really a jpeg')
    lone = covers_dir/meta[meta.decade == '2000s'].file.iloc[0]
    r = melonpy(*['predict', str(d/'era.safetensors'), str(imgs), str(lone), '--csv', str(tmp_path/'out.csv')])
    assert r.returncode == 0, r.stderr[-2000:]
    p = pd.read_csv(tmp_path/'out.csv', keep_default_na=False)
    assert list(p.columns) == ['file', 'pred', 'prob_1990s', 'prob_2010s', 'seen', 'error']
    assert len(p) == 4 and sorted(Path(f).name for f in p.file) == sorted([*(Path(f).name for f in picks), 'broken.jpg', lone.name])
    bad = p[p.file.str.endswith('broken.jpg')].iloc[0]
    assert bad.error.startswith('unreadable') and bad.pred == ''
    good = p[p.error == '']
    assert good.pred.isin(['1990s', '2010s']).all()
    assert ((good.prob_1990s.astype(float) + good.prob_2010s.astype(float)) - 1).abs().max() < 1e-3
    assert 'broken.jpg' in r.stdout and r.stdout.strip().splitlines()[-1].startswith('predicted 3 images')

@pytest.mark.covers
def test_predict_marks_training_covers(trained, covers_dir, tmp_path):
    "A cover the model was trained on is marked 'seen in training' in the table, the CSV and the summary; a new picture is not."
    from melonpy.data import read_covers, sample_per_era
    from melonpy.splits import split_covers
    d, _ = trained
    df = split_covers(sample_per_era(read_covers(covers_dir, eras=['1990s', '2010s']), 40, 42), seed=42, progress=False)
    train = df[df.split == 'train'].file.iloc[0]          # the same split as `melonpy train --max-per-era 40` (seed 42)
    noise = tmp_path/'noise.png'
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(noise)
    code, err, out = melonpy_inproc('predict', d/'era.safetensors', train, noise, '--csv', tmp_path/'p.csv', stdout=True)   # in-process: test_predict_end_to_end starts the real one
    assert code == 0, err[-2000:]
    p = pd.read_csv(tmp_path/'p.csv')
    assert p.set_index(p.file.map(lambda f: Path(f).name)).seen.to_dict() == {Path(train).name: True, 'noise.png': False}
    assert 'seen in training' in out and '1 seen in training' in out.strip().splitlines()[-1], out


@pytest.mark.covers
def test_predict_nothing_readable_is_an_error(trained, tmp_path):
    "When no image given can be read, predict says so in one line and exits 2 (it used to print an empty table and exit 0)."
    d, _ = trained
    (tmp_path/'broken.jpg').write_bytes(b'\xff\xd8 not really a jpeg')
    one_line_error(melonpy_inproc('predict', d/'era.safetensors', tmp_path/'broken.jpg'), 'none of the 1 images could be read')   # in-process: the same main, no start-up


def test_a_pickle_never_runs(tmp_path):
    "A crafted pickle (its loading calls os.system) handed to predict and stylize --check: one line naming --trust-pickle, nothing runs, nothing written."
    marker = tmp_path/'pwned'
    class Evil:
        def __reduce__(self): return (os.system, (f'touch {marker}',))
    (tmp_path/'evil.pkl').write_bytes(pickle.dumps(Evil()))
    img = tmp_path/'a.png'; Image.new('RGB', (64, 64), 'red').save(img)
    one_line_error(melonpy_inproc('predict', tmp_path/'evil.pkl', img), 'pickle', '--trust-pickle')   # in-process: a pickle that ran would touch the marker all the same
    one_line_error(melonpy_inproc('stylize', img, '--style', img, '--check', tmp_path/'evil.pkl', '--out', tmp_path/'o.png'), '--trust-pickle')
    assert not marker.exists() and not (tmp_path/'o.png').exists()


def test_train_bad_input(tmp_path):
    one_line_error(melonpy_inproc('train', str(tmp_path/'nope'), '--out', str(tmp_path/'m.safetensors')), 'not a folder')
    one_line_error(melonpy_inproc('train', str(tmp_path), '--eras', '1990s', '--out', str(tmp_path/'m.safetensors')), 'at least two eras')
    one_line_error(melonpy_inproc('train', str(tmp_path), '--arch', 'no_such_net', '--out', str(tmp_path/'m.safetensors')), 'unknown --arch')
    one_line_error(melonpy_inproc('train', str(tmp_path), '--epochs', '0', '--freeze-epochs', '0', '--out', str(tmp_path/'m.safetensors')), '--epochs')
    one_line_error(melonpy_inproc('train', str(tmp_path), '--arch', 'cnn', '--weights', 'w.pth', '--out', str(tmp_path/'m.safetensors')), '--weights')
    one_line_error(melonpy_inproc('train', str(tmp_path), '--size', 'big', '--out', 'm.safetensors'), 'not a whole number')
    one_line_error(melonpy_inproc('train', str(tmp_path)), '--out')
    one_line_error(melonpy_inproc('train', str(tmp_path), '--out', str(tmp_path/'m.safetensors')), 'cover collection')  # empty folder
    one_line_error(melonpy_inproc('train', str(tmp_path), '--out', str(tmp_path/'m.pkl')), 'not pickles')
    assert not (tmp_path/'m.safetensors').exists()

def test_predict_bad_input(tmp_path):
    img = tmp_path/'a.jpg'; img.write_bytes(b'junk')
    one_line_error(melonpy_inproc('predict', str(tmp_path/'none.safetensors'), str(img)), 'no such model file')
    (tmp_path/'junk.safetensors').write_text('not a model')
    one_line_error(melonpy_inproc('predict', str(tmp_path/'junk.safetensors'), str(img)), 'not a model')
    one_line_error(melonpy_inproc('predict', str(tmp_path/'junk.safetensors'), str(tmp_path/'missing.jpg')), 'no such file or folder')
    (tmp_path/'empty').mkdir()
    one_line_error(melonpy_inproc('predict', str(tmp_path/'junk.safetensors'), str(tmp_path/'empty')), 'no images found')


# --- model files are untrusted: every card field and every tensor is checked before anything is built from them
def _tiny(path, arch='cnn', eras=('1990s', '2000s'), **card):
    "An untrained model of `arch` saved as a real model file (no training: chapter 4's `_rebuild` of a card, then `export_era_model`)."
    from melonpy.learners import ModelCard, default_size
    from melonpy.model_file import _rebuild, export_era_model
    learn = _rebuild(ModelCard(arch=arch, eras=list(eras), size=card.pop('size', 32 if arch == 'cnn' else default_size(arch)), **card))
    return export_era_model(learn, path)

def _rewrite(src, dst, card=None, tensors=None):
    "Copy model file `src` to `dst` with card fields `card` replaced and tensors changed by `tensors` (a function of the dict)."
    import json
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file
    with safe_open(str(src), framework='pt') as f: meta = json.loads(f.metadata()['melonpy'])
    meta['card'].update(card or {})
    t = load_file(str(src))
    if tensors: t = tensors(t)
    save_file(t, str(dst), metadata={'melonpy': json.dumps(meta)})
    return dst

def _nan(t): return {k: v.fill_(float('nan')) if v.is_floating_point() else v for k, v in t.items()}
def _zero_std(t): return {k: v.zero_() if k == 'std' else v for k, v in t.items()}

BAD_CARDS = [   # (card fields, tensor change, words): each once a traceback, a wrong answer or gigabytes of memory
    (dict(eras='ab'), None, 'eras must be a list'),              # was read as the eras a and b
    (dict(eras=[1990, '2000s']), None, 'eras must be different names'),
    (dict(eras=[['1990s'], '2000s']), None, 'eras must be different names'),
    (dict(eras=['1990s', '1990s']), None, 'eras must be different names'),
    (dict(eras=['1990s', '2000s', '2010s']), None, 'lists 3 eras but its weights are for another number'),
    (dict(normalize=[[0.5, 0.5], [0.5]]), None, 'normalize'),
    (dict(normalize=[[0.5] * 3, [0, 1, 1]]), None, 'normalize'),
    (dict(normalize='imagenet'), None, 'normalize'),
    (dict(train_hashes=['not hex at all!']), None, 'train_hashes'),
    (dict(train_hashes=[12345]), None, 'train_hashes'),
    (dict(ps=2), None, 'ps'),
    (dict(ps=float('nan')), None, 'ps'),
    (dict(size=True), None, 'size'),
    (dict(pretrained='yes'), None, 'pretrained'),
    (dict(head=['year']), None, 'head'),
    (dict(summary=[]), None, 'summary'),
    (None, _nan, 'NaN'),
    (None, lambda t: {**t, 'extra.weight': t['1.5.weight'].clone()}, 'extra.weight is not part of the model'),
    (None, lambda t: {k: v for k, v in t.items() if k != '1.5.bias'}, '1.5.bias is missing'),
    (None, lambda t: {**t, '1.5.bias': t['1.5.bias'].double()}, '1.5.bias is float64'),
]

@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp('tiny')
    Image.new('RGB', (64, 64), 'red').save(d/'a.png')
    return _tiny(d/'ok.safetensors'), d/'a.png'

@pytest.mark.parametrize('card, tensors, words', BAD_CARDS, ids=[str(c or t.__name__)[:40] for c, t, _ in BAD_CARDS])
def test_bad_model_file_one_line(tiny, tmp_path, card, tensors, words):
    "A model file whose card or weights are wrong: one line from predict, nothing predicted."
    ok, img = tiny
    from melonpy.model_file import load_era_model
    load_era_model(ok)   # the file it is made from loads
    bad = _rewrite(ok, tmp_path/'bad.safetensors', card, tensors)
    one_line_error(melonpy_inproc('predict', bad, img), str(bad), words)

def test_bad_card_stylize_writes_nothing(tiny, tmp_path):
    "`stylize --check` with a damaged card: one line, and OUT is not written (it was written before the traceback)."
    ok, img = tiny
    bad = _rewrite(ok, tmp_path/'bad.safetensors', dict(eras=[['1990s'], '2000s']))
    one_line_error(melonpy_inproc('stylize', img, '--style', img, '--method', 'colour', '--check', bad, '--out', tmp_path/'o.png'), 'eras')
    assert not (tmp_path/'o.png').exists()

def test_linear_model_with_zero_std(tmp_path):
    "A linear-family model whose features are divided by a std of 0 answers NaN for everything: refused in one line, not 'predicted 2 images'."
    ok = _tiny(tmp_path/'lin.safetensors', 'nsfw_linear', head='logistic')
    Image.new('RGB', (64, 64), 'red').save(tmp_path/'a.png')
    bad = _rewrite(ok, tmp_path/'bad.safetensors', tensors=_zero_std)
    one_line_error(melonpy_inproc('predict', bad, tmp_path/'a.png'), 'std of 0')

@pytest.fixture(scope='module')
def linear_peak(tmp_path_factory):
    "An untrained nsfw_linear model file, a small picture, and the peak memory of `melonpy predict` of it with that model (measured once, for every card size)."
    d = tmp_path_factory.mktemp('linear')
    ok = _tiny(d/'lin.safetensors', 'nsfw_linear', head='logistic')
    Image.new('RGB', (64, 64), 'red').save(d/'a.png')
    r, small = melonpy_peak('predict', ok, d/'a.png')
    assert r.returncode == 0, r.stderr[-2000:]
    return ok, d/'a.png', small

@pytest.mark.parametrize('n', [100_000, 1_000_000])
def test_huge_card_memory_is_bounded(tmp_path, linear_peak, n):
    "A linear model's card that lists 100,000 or 1,000,000 eras (a 1-12 MB file; it built a layer per era, 2.5 GB, or tried 15 GB): one line, and the command's memory stays that of loading the right model."
    ok, img, small = linear_peak
    bad = _rewrite(ok, tmp_path/'huge.safetensors', dict(eras=[f'{i}s' for i in range(n)]))
    r, peak = melonpy_peak('predict', bad, img)
    print(f'peak memory: {small:.0f} MB for the model, {peak:.0f} MB for its card with {n} eras')
    assert peak < small + 200, (peak, small)
    one_line_error(r, 'eras')


def _full_disk(kb):
    "`preexec_fn` of a child whose disk is full after `kb` kB per file (RLIMIT_FSIZE: writes beyond it fail with EFBIG, as ENOSPC would)."
    def limit():
        import resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (kb * 1024, resource.RLIM_INFINITY))
    return limit

def test_train_out_on_a_full_disk(tmp_path):
    "`train --out` on a full disk (safetensors raises its own SafetensorError, not an OSError): one line, no model, no temporary file."
    from melonpy.splits import fake_scrape
    covers = fake_scrape(tmp_path/'covers', n=40)
    out = tmp_path/'out'; out.mkdir()
    r = melonpy('train', covers, '--arch', 'cnn', '--size', 32, '--epochs', 1, '--freeze-epochs', 0, '--bs', 8, '--eras', '1990s,2000s',
                '--out', out/'m.safetensors', preexec_fn=_full_disk(200))
    one_line_error(r, 'File too large', str(out/'m.safetensors'), after_bars=True)
    assert not list(out.iterdir())

def _nsfw_and_pictures(folder, n):
    "An untrained nsfw_linear learner (its frozen network, no fit) and `n` random 64-px pictures saved in `folder`."
    from melonpy.learners import ModelCard
    from melonpy.model_file import _rebuild
    learn = _rebuild(ModelCard(arch='nsfw_linear', eras=['1990s', '2000s'], size=224, head='logistic'))
    files = [folder/f'{i}.png' for i in range(n)]
    for i, f in enumerate(files): Image.fromarray(np.random.default_rng(i).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(f)
    return learn, files

def test_a_killed_feature_pass_keeps_what_it_saved(tmp_path, monkeypatch):
    "A feature pass saves what it has every `save_every` seconds (issue 30): killed outright (SIGKILL, no `finally` runs) after two of its three batches, the cache holds those covers and the next pass computes only the rest."
    import subprocess, sys, textwrap
    from melonpy.learners import cover_features
    from safetensors import safe_open
    learn, files = _nsfw_and_pictures(tmp_path, 6)
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_models import _nsfw_and_pictures
        from pathlib import Path
        import melonpy.learners as L
        learn, files = _nsfw_and_pictures(Path({str(tmp_path)!r}), 6)
        L.save_every = 0   # save after every batch
        m = L.linear_members(learn.model)[0]; calls, forward = [], m.features.forward
        def dying(x):
            calls.append(1)
            if len(calls) == 3: os.kill(os.getpid(), signal.SIGKILL)
            return forward(x)
        m.features.forward = dying
        L.cover_features(learn, files, bs=2, progress=False)
    """)
    env = {**os.environ, 'MELONPY_CACHE': str(tmp_path/'cache')}
    r = subprocess.run([sys.executable, '-c', script], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == -9, r.stderr[-2000:]
    [path] = (tmp_path/'cache').glob('features-nsfw*.safetensors')
    with safe_open(str(path), 'np') as f: assert len(json.loads(f.metadata()['keys'])) == 4   # two batches of two
    import melonpy.learners as L
    monkeypatch.setenv('MELONPY_CACHE', str(tmp_path/'cache'))
    m = L.linear_members(learn.model)[0]; seen, forward = [], m.features.forward
    m.features.forward = lambda x: seen.append(len(x)) or forward(x)
    x = cover_features(learn, files, bs=2, progress=False)
    assert seen == [2] and x.shape == (6, 1024)   # only the last two covers were computed again

def test_feature_cache_on_a_full_disk(tmp_path, monkeypatch):
    "The feature cache cannot be written (a full disk): a warning, and the features computed are still returned (they were lost in a traceback)."
    import resource, signal
    from melonpy.learners import cover_features
    learn, files = _nsfw_and_pictures(tmp_path, 3)
    monkeypatch.setenv('MELONPY_CACHE', str(tmp_path/'cache'))
    old, handler = resource.getrlimit(resource.RLIMIT_FSIZE), signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, old[1]))
    try:
        with pytest.warns(UserWarning, match='could not write the feature cache'): x = cover_features(learn, files, progress=False)
    finally: resource.setrlimit(resource.RLIMIT_FSIZE, old); signal.signal(signal.SIGXFSZ, handler)
    assert x.shape == (3, 1024) and np.isfinite(x).all()
    assert not [p for p in (tmp_path/'cache').iterdir() if p.suffix == '.safetensors']


BAD_FEATURE_CACHES = {   # name: a change of the tensors and keys of a feature cache (which broke every later run in _fit_linear)
    'narrower': lambda x, k: (x[:, :100], k),
    'nan': lambda x, k: (x.fill_(float('nan')), k),
    'inf': lambda x, k: (x.fill_(float('inf')), k),
    'float64': lambda x, k: (x.double(), k),
    'fewer_rows': lambda x, k: (x[:1], k),
    'keys_not_text': lambda x, k: (x, list(range(len(k)))),
}

@pytest.mark.parametrize('kind', BAD_FEATURE_CACHES)
def test_bad_feature_cache_is_computed_again(tmp_path, monkeypatch, kind):
    import json
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file
    from melonpy.learners import ModelCard, cover_features
    from melonpy.model_file import _rebuild
    learn = _rebuild(ModelCard(arch='nsfw_linear', eras=['1990s', '2000s'], size=224, head='logistic'))
    files = []
    for i in range(2):
        Image.fromarray(np.random.default_rng(i).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path/f'{i}.png'); files.append(tmp_path/f'{i}.png')
    monkeypatch.setenv('MELONPY_CACHE', str(tmp_path/'cache'))
    good = cover_features(learn, files, progress=False)
    [path] = (tmp_path/'cache').glob('features-nsfw*.safetensors')
    with safe_open(str(path), framework='pt') as f: keys = json.loads(f.metadata()['keys'])
    x, keys = BAD_FEATURE_CACHES[kind](load_file(str(path))['x'], keys)
    save_file({'x': x.contiguous()}, str(path), metadata={'keys': json.dumps(keys)})
    again = cover_features(learn, files, progress=False)
    assert again.shape == good.shape and np.allclose(again, good, atol=1e-5)
    assert load_file(str(path))['x'].shape == (2, 1024)   # overwritten with a good one


def test_predict_odd_file_names(tiny, tmp_path, monkeypatch):
    "A file name that is not UTF-8 and one a spreadsheet would run as a formula: predict's table (under a strict UTF-8 terminal), --csv to stdout and --csv FILE all work; the file keeps the names exactly, the formula behind a quote."
    import os, subprocess
    from runcli import COMMAND, melonpy_env
    ok, img = tiny
    d = tmp_path/'imgs'; d.mkdir()
    for name in (b'caf\xe9.png', b'=cmd.png', b'fine.png'): shutil.copy(img, os.path.join(os.fsencode(d), name))
    env = melonpy_env(PYTHONIOENCODING='utf-8:strict', PYTHONUTF8='1')
    r = subprocess.run([*COMMAND, 'predict', ok, '.', '--csv', tmp_path/'p.csv'], capture_output=True, text=True, env=env, timeout=300, cwd=d)
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    assert 'caf\\xe9.png' in r.stdout and 'predicted 3 images' in r.stdout, r.stdout
    raw = (tmp_path/'p.csv').read_bytes()
    assert b'caf\xe9.png' in raw and b"'=" in raw and not any(l.startswith(b'=') for l in raw.splitlines())
    p = pd.read_csv(tmp_path/'p.csv', encoding_errors='surrogateescape')
    assert sorted(os.fsencode(f) for f in p.file) == [b"'=cmd.png", b'caf\xe9.png', b'fine.png']   # names as given (relative), the formula quoted
    # --csv to stdout: in this process (no second start-up), its stdout a strict UTF-8 stream as PYTHONIOENCODING gave the first
    import contextlib, io
    from melonpy.cli import main
    monkeypatch.chdir(d)
    buf, err = io.BytesIO(), io.StringIO()
    out = io.TextIOWrapper(buf, encoding='utf-8', errors='strict', write_through=True)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: code = main(['predict', str(ok), '.', '--csv'])
        except SystemExit as e: code = e.code
    text = buf.getvalue().decode('utf-8')
    assert code == 0 and 'Traceback' not in err.getvalue(), err.getvalue()[-2000:]
    assert 'caf\\xe9.png' in text and "'=" in text, text


def test_predict_memory_is_bounded(tiny, tmp_path):
    """predict over large pictures (3,000×3,000 PNGs, 8 of them, one chunk of predict's 64) holds one full-size picture
    at a time: its peak memory is that of one small picture plus little. Eight are enough to fail: each decodes to
    27 MB, so holding them all at full size is 216 MB over the small run, past the 150 MB allowed (measured: +26 MB as
    it is, +377 MB with `predict_covers` decoding at full size)."""
    import os
    ok, img = tiny
    big = tmp_path/'big'; big.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (30, 30, 3), dtype=np.uint8)).resize((3000, 3000)).save(big/'0.png')
    for i in range(1, 8): os.link(big/'0.png', big/f'{i}.png')   # the same file 8 times: no disk space
    r, small = melonpy_peak('predict', ok, img)
    assert r.returncode == 0, r.stderr[-2000:]
    r, peak = melonpy_peak('predict', ok, big)
    print(f'peak memory of predict: {small:.0f} MB for one small picture, {peak:.0f} MB for 8 pictures of 3000x3000')
    assert r.returncode == 0 and 'predicted 8 images' in r.stdout, r.stderr[-2000:]
    assert peak < small + 150, (peak, small)


def test_train_unwritable_out_before_training(tmp_path, monkeypatch):
    "`train --out` in a folder that cannot be written (here: below a file): one line before any training (it trained first, then failed)."
    from melonpy.splits import fake_scrape
    covers = fake_scrape(tmp_path/'covers', n=16)
    (tmp_path/'a-file').write_text('')
    def no_training(*a, **k): raise AssertionError('trained before checking --out')
    monkeypatch.setattr('melonpy.learners.train_era_model', no_training)   # train_main imports it when it runs
    one_line_error(melonpy_inproc('train', covers, '--arch', 'cnn', '--out', tmp_path/'a-file'/'m.safetensors'), '--out folder', 'a-file')


def test_model_and_cache_files_are_readable_by_others(tmp_path, monkeypatch):
    "A model file and the feature cache get the usual permissions (0644 under umask 022), so that others in a class folder can read a shared model (safetensors made 0600 files)."
    import os
    from melonpy.learners import ModelCard, cover_features
    from melonpy.model_file import _rebuild
    old = os.umask(0o022)
    try:
        m = _tiny(tmp_path/'m.safetensors')
        learn = _rebuild(ModelCard(arch='nsfw_linear', eras=['1990s', '2000s'], size=224, head='logistic'))
        Image.new('RGB', (64, 64), 'red').save(tmp_path/'a.png')
        monkeypatch.setenv('MELONPY_CACHE', str(tmp_path/'cache'))
        cover_features(learn, [tmp_path/'a.png'], progress=False)
    finally: os.umask(old)
    [cache] = (tmp_path/'cache').glob('features-*.safetensors')
    assert oct(m.stat().st_mode & 0o777) == oct(0o644) and oct(cache.stat().st_mode & 0o777) == oct(0o644)


def test_ctrl_c_keeps_the_features_computed(tmp_path, monkeypatch):
    "Ctrl-C while a network computes features: the batches finished are in the cache (the message says finished work is saved), and the next call computes only the rest."
    from melonpy.learners import cover_features
    learn, files = _nsfw_and_pictures(tmp_path, 4)
    monkeypatch.setenv('MELONPY_CACHE', str(tmp_path/'cache'))
    member, calls, fired = learn.model, [], []
    real = member.features.forward
    def interrupted(x):
        calls.append(len(x))
        if len(calls) == 2 and not fired: fired.append(1); raise KeyboardInterrupt   # once, during the second batch
        return real(x)
    monkeypatch.setattr(member.features, 'forward', interrupted)
    with pytest.raises(KeyboardInterrupt): cover_features(learn, files, bs=2, progress=False)
    calls.clear()
    x = cover_features(learn, files, bs=2, progress=False)
    assert calls == [2] and x.shape == (4, 1024)   # the first batch came from the cache
