"`melonpy train` and `melonpy predict` as real processes on a small subset of the shared covers, and their bad-input errors."
import re, shutil
from pathlib import Path
import pandas as pd
import pytest
from cli import melonpy, melonpy_inproc, one_line_error


@pytest.fixture(scope='module')
def trained(covers_dir, tmp_path_factory):
    "A squeezenet1_1 era model trained by `melonpy train` on 40 covers per era, in a real process."
    d = tmp_path_factory.mktemp('train')
    r = melonpy(*['train', str(covers_dir), '--eras', '1990s,2010s', '--max-per-era', '40', '--size', '64',
                  '--epochs', '1', '--freeze-epochs', '1', '--out', str(d/'era.pkl')])
    return d, r

@pytest.mark.covers
def test_train_end_to_end(trained):
    d, r = trained
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.strip().splitlines()
    assert lines[-1].startswith('trained squeezenet1_1 on') and 'baseline' in lines[-1] and str(d/'era.pkl') in lines[-1]
    assert re.search(r'paired test p = [0-9.e-]+: (better than the baseline beyond chance|could be chance|no better than the baseline)', lines[-1]), lines[-1]
    table = '\n'.join(lines)
    for k in ('accuracy', 'macro_f1', 'era_mae', 'baseline ('): assert k in table
    assert (d/'era.pkl').stat().st_size > 1e6
    assert not [p for p in d.iterdir() if p.name.startswith('.')], 'temporary file left behind'

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
    r = melonpy(*['predict', str(d/'era.pkl'), str(imgs), str(lone), '--csv', str(tmp_path/'out.csv')])
    assert r.returncode == 0, r.stderr[-2000:]
    p = pd.read_csv(tmp_path/'out.csv', keep_default_na=False)
    assert list(p.columns) == ['file', 'pred', 'prob_1990s', 'prob_2010s', 'error']
    assert len(p) == 4 and sorted(Path(f).name for f in p.file) == sorted([*(Path(f).name for f in picks), 'broken.jpg', lone.name])
    bad = p[p.file.str.endswith('broken.jpg')].iloc[0]
    assert bad.error.startswith('unreadable') and bad.pred == ''
    good = p[p.error == '']
    assert good.pred.isin(['1990s', '2010s']).all()
    assert ((good.prob_1990s.astype(float) + good.prob_2010s.astype(float)) - 1).abs().max() < 1e-3
    assert 'broken.jpg' in r.stdout and r.stdout.strip().splitlines()[-1].startswith('predicted 3 images')

def test_train_bad_input(tmp_path):
    one_line_error(melonpy_inproc('train', str(tmp_path/'nope'), '--out', str(tmp_path/'m.pkl')), 'not a folder')
    one_line_error(melonpy_inproc('train', str(tmp_path), '--eras', '1990s', '--out', str(tmp_path/'m.pkl')), 'at least two eras')
    one_line_error(melonpy_inproc('train', str(tmp_path), '--arch', 'no_such_net', '--out', str(tmp_path/'m.pkl')), 'unknown --arch')
    one_line_error(melonpy_inproc('train', str(tmp_path), '--epochs', '0', '--freeze-epochs', '0', '--out', str(tmp_path/'m.pkl')), '--epochs')
    one_line_error(melonpy_inproc('train', str(tmp_path), '--arch', 'cnn', '--weights', 'w.pth', '--out', str(tmp_path/'m.pkl')), '--weights')
    one_line_error(melonpy_inproc('train', str(tmp_path), '--size', 'big', '--out', 'm.pkl'), 'invalid int value')
    one_line_error(melonpy_inproc('train', str(tmp_path)), '--out')
    one_line_error(melonpy_inproc('train', str(tmp_path), '--out', str(tmp_path/'m.pkl')), 'cover collection')  # empty folder
    assert not (tmp_path/'m.pkl').exists()

def test_predict_bad_input(tmp_path):
    img = tmp_path/'a.jpg'; img.write_bytes(b'junk')
    one_line_error(melonpy_inproc('predict', str(tmp_path/'none.pkl'), str(img)), 'no such model file')
    (tmp_path/'junk.pkl').write_text('not a model')
    one_line_error(melonpy_inproc('predict', str(tmp_path/'junk.pkl'), str(img)), 'not a model')
    one_line_error(melonpy_inproc('predict', str(tmp_path/'junk.pkl'), str(tmp_path/'missing.jpg')), 'no such file or folder')
    (tmp_path/'empty').mkdir()
    one_line_error(melonpy_inproc('predict', str(tmp_path/'junk.pkl'), str(tmp_path/'empty')), 'no images found')
