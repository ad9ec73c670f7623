"""Chapter 6's explorer in a real JupyterLab, driven by headless Chromium (Playwright).

Trains a tiny model with `melonpy train` on 30 covers (from the shared collection when `$MELONPY_SHARED` is set,
else synthetic ones made here, so the test needs nothing but Chromium), starts JupyterLab on loopback, opens
`tests/explore_demo.ipynb`, runs it from the Run menu, changes a filter, selects a cover, opens a confusion-matrix
cell, uploads an image and a non-image, and checks what the page shows each time. A second test trains a model on a
collection with an era folder named like an HTML tag (`<img src=x onerror=alert(7)>`) and checks that the name shows
as text everywhere (confusion matrix, filters, detail pane, Grad-CAM note, upload errors) and that no dialog fires.
Two more drive chapter 6's era mixer (`EraMixer`, with a real style transfer at 256 px): pick a cover, an era, move the
strength slider, press mix, watch the progress and wait for the result and the P(era) table; and the same with the
HTML-named era, which must show as text. Saves screenshots to tests/artifacts/. Every wait is bounded; the server and its kernel are always stopped.
"""
import contextlib
import json, os, shutil, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import numpy as np, pandas as pd
import pytest
from PIL import Image, ImageDraw

HERE = Path(__file__).parent
ART = HERE/'artifacts'
TOKEN = 'melonpy-browser-test'
ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run']
ERAS = ['1990s', '2000s', '2010s']
EVIL = '<img src=x onerror=alert(7)>'   # an era folder name that is also HTML: it must show as text
BS = 16                                 # the tiny models' batch size

pytestmark = pytest.mark.browser


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def _synthetic_collection(dest, n_per_era=10, size=96):
    """`n_per_era` synthetic covers per era in era subfolders: an era's colour and stripe direction, and per cover its own
    stripe spacing, a disc of a random colour and pixel noise, so that no two covers are near-duplicates (`split_covers`
    would put them in one group, and the training split would be smaller than a batch)."""
    rng = np.random.default_rng(0)
    looks = {'1990s': ((190, 60, 50), 'h'), '2000s': ((60, 160, 80), 'v'), '2010s': ((50, 70, 190), 'd')}
    for era, (rgb, kind) in looks.items():
        (dest/era).mkdir(parents=True)
        for i in range(n_per_era):
            im = Image.new('RGB', (size, size), tuple(int(c + rng.integers(-30, 30)) for c in rgb)); d = ImageDraw.Draw(im)
            period, width, phase = int(rng.integers(12, 28)), int(rng.integers(3, 8)), int(rng.integers(0, 12))
            for k in range(phase - period, size, period):
                xy = {'h': (0, k, size, k + width), 'v': (k, 0, k + width, size), 'd': (k, k, k + 2 * width, k + 2 * width)}[kind]
                d.rectangle(xy, fill=(240, 240, 230))
            (x, y), r = (int(v) for v in rng.integers(8, size - 8, 2)), int(rng.integers(10, 30))
            d.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
            a = np.asarray(im).astype(int) + rng.integers(-20, 20, (size, size, 3))
            Image.fromarray(a.clip(0, 255).astype('uint8')).save(dest/era/f'synthetic_{era}_{i:02d}.jpg')
    return dest


def test_synthetic_covers_fill_a_batch(tmp_path):
    "The synthetic fallback (no shared material) has no near-duplicates, and its training split holds a batch: `melonpy train` accepts it."
    from melonpy.data import read_covers
    from melonpy.splits import split_covers
    sp = split_covers(read_covers(_synthetic_collection(tmp_path/'covers'), eras=ERAS), seed=42, progress=False)
    assert sp.attrs['near_duplicates'] == 0, sp.attrs
    assert (sp.split == 'train').sum() >= BS, sp.split.value_counts()
    assert sp[sp.split == 'train'].era.nunique() == len(ERAS), sp.groupby('split').era.value_counts()


def _tiny_collection(covers_dir, dest, n_per_era=10):
    "Copy `n_per_era` exactly-dated covers of each era (and their index rows) into `dest`."
    meta = pd.read_csv(covers_dir/'metadata.csv')
    meta = meta[meta.decade.isin(ERAS) & (meta.label_quality == 'exact')]
    meta = meta.groupby('decade', group_keys=False).apply(lambda g: g.sample(n_per_era, random_state=0))
    for f in meta.file:
        (dest/f).parent.mkdir(parents=True, exist_ok=True); shutil.copy(covers_dir/f, dest/f)
    meta.to_csv(dest/'metadata.csv', index=False)
    return dest


def _get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r: return json.loads(r.read() or b'null')


def _start_lab(root, port, env, log):
    cmd = [sys.executable, '-m', 'jupyterlab', '--allow-root', '--no-browser', '--ip', '127.0.0.1', '--port', str(port),
           f'--IdentityProvider.token={TOKEN}', f'--ServerApp.root_dir={root}', '--ServerApp.port_retries=0']
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None: raise RuntimeError(f'jupyter lab exited with {proc.returncode}; see {log.name}')
        try: _get(f'http://127.0.0.1:{port}/api/status?token={TOKEN}', 2); return proc
        except OSError: time.sleep(0.5)
    _stop_lab(proc, port)
    raise RuntimeError(f'jupyter lab did not answer within 60 s; see {log.name}')


def _stop_lab(proc, port):
    "Shut the kernels down through the API, then stop the server (its whole process group)."
    try:
        for k in _get(f'http://127.0.0.1:{port}/api/kernels?token={TOKEN}', 5):
            req = urllib.request.Request(f'http://127.0.0.1:{port}/api/kernels/{k["id"]}?token={TOKEN}', method='DELETE')
            urllib.request.urlopen(req, timeout=10).close()
    except Exception: pass
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        if proc.poll() is not None: break
        try: os.killpg(proc.pid, sig)
        except ProcessLookupError: break
        try: proc.wait(wait)
        except subprocess.TimeoutExpired: pass


@pytest.fixture(scope='module')
def lab_env(tmp_path_factory):
    "A folder with the demo notebook, a tiny collection and a model exported by `melonpy train`, and the server's env."
    root = tmp_path_factory.mktemp('lab')
    shared = Path(os.environ.get('MELONPY_SHARED', '/nonexistent'))
    covers_dir = shared/'data'/'covers'
    if (covers_dir/'metadata.csv').exists():   # real covers, and SqueezeNet with the shared ImageNet weights
        covers = _tiny_collection(covers_dir, root/'covers')
        arch = ['--arch', 'squeezenet1_1', '--size', '64']
    else:                                       # no shared material: synthetic covers, a small CNN from scratch
        covers = _synthetic_collection(root/'covers')
        arch = ['--arch', 'cnn_bn', '--no-pretrained', '--size', '48']
    env = dict(os.environ, MELONPY_DATA=str(covers), MELONPY_MODEL=str(root/'model.safetensors'), MPLBACKEND='Agg',
               JUPYTER_CONFIG_DIR=str(root/'.jupyter'), JUPYTER_RUNTIME_DIR=str(root/'.runtime'),
               JUPYTERLAB_SETTINGS_DIR=str(root/'.settings'), JUPYTERLAB_WORKSPACES_DIR=str(root/'.workspaces'),
               PYTHONUNBUFFERED='1')
    env.pop('MELONPY_SHARED', None)  # the kernel must use the tiny collection, through MELONPY_DATA
    if (shared/'torch_home').is_dir(): env.setdefault('TORCH_HOME', str(shared/'torch_home'))
    env['MELONPY_TEST_ARCH'] = ' '.join(arch)
    _train(covers, root/'model.safetensors', env, *arch)
    shutil.copy(HERE/'explore_demo.ipynb', root/'explore_demo.ipynb')
    # no news pop-ups over the screenshots, and no kernel dialog: start the notebook's kernel as a user would pick it
    settings = {'apputils-extension/notification': {'fetchNews': 'false', 'checkForUpdates': False},
                'notebook-extension/tracker': {'autoStartDefaultKernel': True}}
    for k, v in settings.items():
        f = root/'.settings'/'@jupyterlab'/f'{k}.jupyterlab-settings'
        f.parent.mkdir(parents=True, exist_ok=True); f.write_text(json.dumps(v))
    return root, env


def _train(covers, out, env, *args):
    "Train a tiny model on `covers` with `melonpy train` (the fixture's architecture args `args`), saved to `out`."
    t = time.monotonic()
    r = subprocess.run([str(Path(sys.executable).parent/'melonpy'), 'train', str(covers), '--out', str(out),
                        *args, '--epochs', '1', '--bs', str(BS)],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f'melonpy train failed ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}'
    print(f'trained the tiny model in {time.monotonic() - t:.0f}s: {r.stdout.strip().splitlines()[-1]}')


def _notebook(path, source):
    "Write a one-cell notebook running `source`."
    nb = dict(nbformat=4, nbformat_minor=5, metadata=dict(kernelspec=dict(name='python3', display_name='Python 3', language='python')),
              cells=[dict(cell_type='code', id='c0', metadata={}, execution_count=None, outputs=[], source=source)])
    path.write_text(json.dumps(nb, indent=1))


@pytest.fixture(scope='module')
def evil_env(lab_env):
    "The covers of `lab_env` in two era folders, `1990s` and `EVIL`, a model trained on them, and a notebook exploring them."
    root, env = lab_env
    evil = root/'evil_covers'
    for i, f in enumerate(sorted((root/'covers').rglob('*.jpg'))):
        d = evil/('1990s' if i % 3 == 0 else EVIL); d.mkdir(parents=True, exist_ok=True)
        shutil.copy(f, d/f.name)
    _train(evil, root/'evil_model.safetensors', env, *env['MELONPY_TEST_ARCH'].split(), '--eras', f'1990s,{EVIL}')
    _notebook(root/'evil_demo.ipynb', 'from melonpy.data import read_covers\nfrom melonpy.explorer import explore\n\n'
              f'explorer = explore({str(root/"evil_model.safetensors")!r}, read_covers({str(evil)!r}), page_size=12)\nexplorer')
    return root, env


@contextlib.contextmanager
def _lab_page(root, env, chromium, name):
    "A JupyterLab on loopback serving `root`, and a Chromium page; screenshots the page as `name`_failed.png on errors."
    from playwright.sync_api import sync_playwright
    ART.mkdir(exist_ok=True); (ART/f'{name}_failed.png').unlink(missing_ok=True)
    shutil.rmtree(env['JUPYTERLAB_WORKSPACES_DIR'], ignore_errors=True)   # a fresh layout: no notebook of a previous test open
    port = _free_port()
    log = open(root/f'jupyterlab_{name}.log', 'w')
    proc = _start_lab(root, port, env, log)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
            try:
                page = browser.new_page(viewport={'width': 1500, 'height': 1000})
                page.set_default_timeout(30_000)
                try: yield page, port
                except Exception:
                    try: page.screenshot(path=str(ART/f'{name}_failed.png'))  # what the page showed when it failed
                    except Exception: pass
                    raise
            finally: browser.close()
    finally:
        _stop_lab(proc, port)
        log.close()
    assert proc.poll() is not None, 'jupyter lab is still running'


def _run_notebook(page, port, notebook, widget='.melonpy-explorer'):
    "Open `notebook`, wait for its kernel, run all its cells from the Run menu and wait for the `widget` (the explorer); return it."
    from playwright.sync_api import expect, TimeoutError as PlaywrightTimeout
    page.goto(f'http://127.0.0.1:{port}/lab/tree/{notebook}?token={TOKEN}', timeout=60_000)
    page.locator('.jp-NotebookPanel .jp-Cell').first.wait_for(timeout=60_000)
    try: page.locator('.jp-Dialog .jp-mod-accept').click(timeout=3_000)  # a kernel dialog, if one still shows
    except PlaywrightTimeout: pass
    expect(page.locator('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status="idle"]')).to_have_count(1, timeout=60_000)
    page.locator('.lm-MenuBar-itemLabel', has_text='Run').first.click()
    page.locator('.lm-Menu-itemLabel', has_text='Run All Cells').first.click()
    explorer = page.locator(widget)
    try: explorer.wait_for(state='visible', timeout=120_000)
    except PlaywrightTimeout:
        errs = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').all_inner_texts()
        raise AssertionError(f'{widget} did not render within 120 s; notebook stderr: {errs[-3:]}')
    return explorer


def _status(page):
    return page.locator('.melonpy-status').inner_text(timeout=10_000)


def test_explorer_in_jupyterlab(lab_env, chromium):
    from playwright.sync_api import expect
    root, env = lab_env
    t0 = time.monotonic()
    with _lab_page(root, env, chromium, 'explore') as (page, port):
        explorer = _run_notebook(page, port, 'explore_demo.ipynb')
        tiles = page.locator('.melonpy-tile')
        expect(tiles.first).to_be_visible(timeout=30_000)
        before = _status(page)
        assert before.startswith('30 of 30 covers'), before
        assert 'page 1 of 3' in before, before
        expect(tiles).to_have_count(12)

        # change a filter: true era 2000s keeps its 10 covers (whatever the model predicts)
        era = '2000s'
        page.locator('.melonpy-true-filter select').select_option(era)
        expect(page.locator('.melonpy-status')).to_contain_text('10 of 30 covers', timeout=15_000)
        after = _status(page)
        assert 'page 1 of 1' in after, after
        # the grid follows (widgets render asynchronously: wait for it): 10 tiles, all of true era 2000s
        expect(tiles).to_have_count(10, timeout=15_000)
        expect(page.locator(f'.melonpy-tile button:not([title$="true era {era}"])')).to_have_count(0, timeout=15_000)

        # select a cover: the detail pane shows its name, eras, the probability chart and the heat-map
        pick = page.locator('.melonpy-tile button').nth(1)
        name = pick.get_attribute('title').split(':')[0]
        predicted = pick.inner_text().split()[0]
        pick.click()
        expect(page.locator('.melonpy-title .melonpy-name')).to_have_text(name, timeout=15_000)
        expect(page.locator('.melonpy-title')).to_contain_text(f'predicted {predicted}, true era {era}')
        bars = page.locator('.melonpy-probs .melonpy-bars > div')
        expect(bars).to_have_count(3)
        assert [b.split()[0] for b in bars.all_inner_texts()] == ERAS
        expect(page.locator('img.melonpy-big')).to_be_visible()
        expect(page.locator('img.melonpy-cam')).to_be_visible(timeout=30_000)
        explorer.scroll_into_view_if_needed()
        explorer.screenshot(path=str(ART/'explore_selected.png'))
        page.screenshot(path=str(ART/'explore_page.png'))

        # the confusion matrix: a cell selects the covers behind it
        page.locator('.melonpy-explorer .lm-TabBar-tab', has_text='Confusion matrix').click()
        cell = page.locator('.melonpy-cell:not([disabled])').first
        expect(page.locator('.melonpy-cell')).to_have_count(9)
        explorer.screenshot(path=str(ART/'explore_matrix.png'))
        k = int(cell.inner_text())
        cell.click()
        expect(page.locator('.melonpy-status')).to_contain_text(f'{k} of 30 covers', timeout=15_000)
        expect(page.locator('.melonpy-title .melonpy-name')).to_be_visible()
        explorer.screenshot(path=str(ART/'explore_matrix_cell.png'))

        # your own image: an upload is predicted and shown; a file that is not an image says so
        page.locator('.melonpy-explorer .lm-TabBar-tab', has_text='Your image').click()
        from melonpy.data import read_covers
        from melonpy.splits import split_covers   # the split `melonpy train` made (seed 42): a cover the model learnt
        sp = split_covers(read_covers(root/'covers', eras=ERAS), seed=42, progress=False)
        photo = Path(sp[sp.split == 'train'].file.iloc[0])
        with page.expect_file_chooser(timeout=10_000) as chooser: page.locator('.melonpy-upload').click()
        chooser.value.set_files(str(photo))
        expect(page.locator('.melonpy-title .melonpy-name')).to_have_text(photo.name, timeout=30_000)
        expect(page.locator('.melonpy-title .melonpy-seen')).to_contain_text('seen in training')   # as `melonpy predict` marks it
        expect(page.locator('.melonpy-probs .melonpy-bars > div')).to_have_count(3)
        expect(page.locator('img.melonpy-cam')).to_be_visible(timeout=30_000)
        (root/'notes.txt').write_text('not a picture')
        with page.expect_file_chooser(timeout=10_000) as chooser: page.locator('.melonpy-upload').click()
        chooser.value.set_files(str(root/'notes.txt'))
        expect(page.locator('.melonpy-title .melonpy-error')).to_contain_text('notes.txt', timeout=30_000)
        expect(page.locator('img.melonpy-big')).to_be_hidden()
        explorer.screenshot(path=str(ART/'explore_upload_error.png'))
        print(f'browser test: {time.monotonic() - t0:.0f}s; true era {era}: {after!r}; selected {name} (predicted {predicted})')


def test_era_names_are_text_not_html(evil_env, chromium):
    "An era folder named `EVIL` (and an upload named like it) shows as text in every part of the explorer; no script runs."
    from playwright.sync_api import expect
    root, env = evil_env
    with _lab_page(root, env, chromium, 'explore_injection') as (page, port):
        dialogs = []      # alert(), confirm() or prompt() from injected HTML: each one is recorded and dismissed
        page.on('dialog', lambda d: (dialogs.append(d.message), d.dismiss()))
        explorer = _run_notebook(page, port, 'evil_demo.ipynb')
        injected = explorer.locator('img[src="x"]')      # what the era name would become if it were parsed as HTML
        expect(page.locator('.melonpy-tile').first).to_be_visible(timeout=30_000)
        assert _status(page).startswith('30 of 30 covers'), _status(page)

        # the confusion matrix: the era is a row (true era) and a column (the model's era) header, as text
        page.locator('.melonpy-explorer .lm-TabBar-tab', has_text='Confusion matrix').click()
        expect(page.locator('.melonpy-cell')).to_have_count(4)
        page.wait_for_timeout(1_000)                     # an onerror handler fires soon after its image fails to load
        assert dialogs == [], f'injected HTML ran: {dialogs}'
        expect(page.locator('.melonpy-matrix').get_by_text(EVIL, exact=True)).to_have_count(2)
        explorer.screenshot(path=str(ART/'explore_injection_matrix.png'))

        # its covers: the filters list it, the detail pane names it, the Grad-CAM note names the predicted era
        page.locator('.melonpy-explorer .lm-TabBar-tab', has_text='Covers').click()
        tiles = page.locator('.melonpy-tile button')
        page.locator('.melonpy-true-filter select').select_option(label=EVIL)
        expect(page.locator('.melonpy-status')).to_contain_text('20 of 30 covers', timeout=15_000)
        expect(tiles).to_have_count(12, timeout=15_000)            # the grid follows the status line: wait for it
        expect(page.locator(f'.melonpy-tile button:not([title$="true era {EVIL}"])')).to_have_count(0, timeout=15_000)
        predicted = tiles.first.inner_text().rsplit(' ', 1)[0]
        tiles.first.click()
        expect(page.locator('.melonpy-title')).to_contain_text(f'predicted {predicted}, true era {EVIL}', timeout=15_000)
        expect(page.locator('.melonpy-probs .melonpy-bars')).to_contain_text(EVIL)
        expect(page.locator('img.melonpy-cam')).to_be_visible(timeout=30_000)
        expect(page.locator('.melonpy-detail')).to_contain_text(f'Grad-CAM for {predicted}:')
        # the model's era in the other filter; when the model predicts it, the Grad-CAM note names it
        page.locator('.melonpy-pred-filter select').select_option(label=EVIL)
        n = int(page.locator('.melonpy-matrix .melonpy-cell').nth(3).text_content())   # the (EVIL, EVIL) cell
        expect(page.locator('.melonpy-status')).to_contain_text(f'{n} of 30 covers' if n else 'No cover matches', timeout=15_000)
        expect(tiles).to_have_count(min(n, 12), timeout=15_000)
        if n:
            expect(tiles.filter(has_text='1990s')).to_have_count(0, timeout=15_000)
            tiles.first.click()
            expect(page.locator('.melonpy-title')).to_contain_text(f'predicted {EVIL}, true era {EVIL}', timeout=15_000)
            expect(page.locator('.melonpy-detail')).to_contain_text(f'Grad-CAM for {EVIL}:', timeout=30_000)
        explorer.screenshot(path=str(ART/'explore_injection_selected.png'))

        # an upload whose name is HTML, and is not an image: the error names it as text
        page.locator('.melonpy-explorer .lm-TabBar-tab', has_text='Your image').click()
        bad = root/'<img src=x onerror=alert(8)>.txt'; bad.write_text('not a picture')
        with page.expect_file_chooser(timeout=10_000) as chooser: page.locator('.melonpy-upload').click()
        chooser.value.set_files(str(bad))
        expect(page.locator('.melonpy-title .melonpy-error')).to_contain_text(bad.name, timeout=30_000)

        page.wait_for_timeout(1_000)                     # an onerror handler fires soon after its image fails to load
        expect(injected).to_have_count(0)
        assert dialogs == [], f'injected HTML ran: {dialogs}'
        print(f'injection test: {n} covers of the era predicted as it; no dialog')


def _vgg_weights():
    "The shared VGG16 weights for the mixer's style transfer (the kernel has no `$MELONPY_SHARED`), or None: a random VGG16."
    f = Path(os.environ.get('MELONPY_SHARED', '/nonexistent'))/'weights'/'vgg16_features_imagenet.pth'
    return str(f) if f.exists() else None


def _mixer_notebook(path, model, covers):
    "A one-cell notebook opening an `EraMixer` on `model` and collection `covers`: 256 px (as in class), 10 covers per era style, 10 Gatys steps."
    _notebook(path, 'from melonpy.data import read_covers\nfrom melonpy.mixer import EraMixer\nfrom melonpy.style import Paint\n\n'
              f'mixer = EraMixer({str(model)!r}, read_covers({str(covers)!r}), size=256, max_covers=10, paint=Paint(steps=10, weights={_vgg_weights()!r}))\nmixer')


_watch_progress = """el => {
    window.__mixer_seen = [];
    const rec = () => window.__mixer_seen.push(el.style.visibility);
    new MutationObserver(rec).observe(el, {attributes: true, attributeFilter: ['style']});
}"""


def _set_slider(page, slider, value, lo=0., hi=2.):
    "Drag the handle of ipywidgets' slider `slider` (a locator; from `lo` to `hi`) to `value`, as a student does with the mouse."
    box = slider.locator('.noUi-target').first.bounding_box()
    handle = slider.locator('.noUi-handle').first.bounding_box()
    page.mouse.move(handle['x'] + handle['width'] / 2, handle['y'] + handle['height'] / 2)
    page.mouse.down()
    page.mouse.move(box['x'] + box['width'] * (value - lo) / (hi - lo), handle['y'] + handle['height'] / 2, steps=8)
    page.mouse.up()


def _pick_method(page, method):
    "Press the mixer's `method` button and wait for the kernel to say it has it: ipywidgets holds a state change while the kernel is busy, but not the mix button's click."
    from playwright.sync_api import expect
    page.locator('.melonpy-mix-method button', has_text=method).click()
    expect(page.locator('.melonpy-mix-status')).to_contain_text(f'by {method}.', timeout=30_000)


def _mix(page, mixer, era, strength, eras=ERAS):
    "Pick the first cover, `era` and `strength`, press mix and wait for the result (P of each of `eras`); return the cover's name, the readout and the seconds from the click to the result."
    from playwright.sync_api import expect
    pick = page.locator('.melonpy-mix-pick select')
    label = pick.locator('option').nth(1).text_content().replace('\xa0', ' ')   # ipywidgets keeps spaces as no-break ones
    pick.select_option(index=1)
    name = label.split(' · ', 1)[1]
    expect(page.locator('.melonpy-mix-content-cap .melonpy-mix-name')).to_have_text(name, timeout=30_000)
    expect(page.locator('img.melonpy-mix-content')).to_be_visible()
    expect(page.locator('.melonpy-mix-probs .melonpy-bars > div')).to_have_count(len(eras))
    page.locator('.melonpy-mix-era select').select_option(label=era)
    slider = page.locator('.melonpy-mix-strength')
    _set_slider(page, slider, strength)
    readout = slider.locator('.widget-readout')
    deadline = time.monotonic() + 10                  # the readout follows the drag (the kernel's value with it)
    while abs(float(readout.inner_text()) - strength) > 0.15 and time.monotonic() < deadline: page.wait_for_timeout(200)
    assert abs(float(readout.inner_text()) - strength) <= 0.15, f'the slider shows {readout.inner_text()}, not about {strength}'
    _pick_method(page, 'fast')
    page.locator('.melonpy-mix-progress').evaluate(_watch_progress)
    t = time.monotonic()
    page.locator('.melonpy-mix-btn').click()
    expect(page.locator('img.melonpy-mix-result')).to_be_visible(timeout=180_000)
    expect(page.locator('.melonpy-mix-status')).to_contain_text(f'P({era})', timeout=30_000)
    took = time.monotonic() - t
    expect(page.locator('.melonpy-mix-probs .melonpy-mixrow')).to_have_count(len(eras))
    assert 'visible' in page.evaluate('window.__mixer_seen'), 'the progress bar never showed while mixing'
    expect(page.locator('.melonpy-mix-progress')).to_be_hidden()
    return name, readout.inner_text(), took


def test_era_mixer_in_jupyterlab(lab_env, chromium):
    "The era mixer renders, mixes a cover toward the 2010s at the strength the slider gives, and shows P(era) before and after."
    from playwright.sync_api import expect
    root, env = lab_env
    _mixer_notebook(root/'mixer_demo.ipynb', root/'model.safetensors', root/'covers')
    t0 = time.monotonic()
    with _lab_page(root, env, chromium, 'mixer') as (page, port):
        mixer = _run_notebook(page, port, 'mixer_demo.ipynb', widget='.melonpy-mixer')
        expect(page.locator('.melonpy-mix-era select option')).to_have_count(3, timeout=30_000)
        assert [t.replace('\xa0', ' ') for t in page.locator('.melonpy-mix-era select option').all_text_contents()] == ERAS
        name, strength, took = _mix(page, mixer, '2010s', 1.5)
        caption = page.locator('.melonpy-mix-result-cap').inner_text()
        assert f'strength {strength}' in caption and '2010s' in caption and '(fast)' in caption, (caption, strength)
        rows = page.locator('.melonpy-mix-probs .melonpy-mixrow').all_inner_texts()
        assert [r.split()[0] for r in rows] == ERAS and all(r.count('%') == 2 and 'pts' in r for r in rows), rows
        assert page.locator('.melonpy-mix-probs .melonpy-target').inner_text().startswith('2010s')
        expect(page.locator('.melonpy-mix-status .melonpy-error')).to_have_count(0)
        mixer.scroll_into_view_if_needed()
        mixer.screenshot(path=str(ART/'mixer_result.png'))
        status = page.locator('.melonpy-mix-status').inner_text()

        # the gatys method: the status line counts its optimisation steps while the bar moves
        _pick_method(page, 'gatys')
        page.locator('.melonpy-mix-btn').click()
        expect(page.locator('.melonpy-mix-status')).to_contain_text('step', timeout=120_000)
        expect(page.locator('.melonpy-mix-progress')).to_be_visible()
        expect(page.locator('.melonpy-mix-btn')).to_be_disabled()         # no second click while it works
        mixer.screenshot(path=str(ART/'mixer_progress.png'))
        expect(page.locator('.melonpy-mix-result-cap')).to_contain_text('(gatys)', timeout=180_000)
        expect(page.locator('.melonpy-mix-status')).to_contain_text('P(2010s)', timeout=30_000)
        expect(page.locator('.melonpy-mix-progress')).to_be_hidden()
        gatys_status = page.locator('.melonpy-mix-status').inner_text()

        # an upload that is not an image: one line in the status, no traceback in the page
        (root/'notes.txt').write_text('not a picture')
        with page.expect_file_chooser(timeout=10_000) as chooser: page.locator('.melonpy-mixer .melonpy-upload').click()
        chooser.value.set_files(str(root/'notes.txt'))
        expect(page.locator('.melonpy-mix-status .melonpy-error')).to_contain_text('notes.txt', timeout=30_000)
        expect(page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')).to_have_count(0)
        expect(page.locator('img.melonpy-mix-result')).to_be_visible()     # the last result stays
        print(f'mixer test: {time.monotonic() - t0:.0f}s in all; {name} toward 2010s at strength {strength}: '
              f'{took:.1f}s from the click to the result; {status!r}; gatys (10 steps): {gatys_status!r}')


def test_era_mixer_names_are_text(evil_env, chromium):
    "An era named like an HTML tag is a mixer target, a row of the P(era) table and a word of the captions, as text; no script runs."
    from playwright.sync_api import expect
    root, env = evil_env
    _mixer_notebook(root/'evil_mixer.ipynb', root/'evil_model.safetensors', root/'evil_covers')
    with _lab_page(root, env, chromium, 'mixer_injection') as (page, port):
        dialogs = []
        page.on('dialog', lambda d: (dialogs.append(d.message), d.dismiss()))
        mixer = _run_notebook(page, port, 'evil_mixer.ipynb', widget='.melonpy-mixer')
        expect(page.locator('.melonpy-mix-era select option')).to_have_count(2, timeout=30_000)
        assert EVIL in [t.replace('\xa0', ' ') for t in page.locator('.melonpy-mix-era select option').all_text_contents()]
        _mix(page, mixer, EVIL, 0.5, eras=['1990s', EVIL])
        expect(page.locator('.melonpy-mix-status')).to_contain_text(f'P({EVIL})')
        expect(page.locator('.melonpy-mix-result-cap')).to_contain_text(f'with the {EVIL} at strength')
        expect(page.locator('.melonpy-mix-probs .melonpy-target')).to_contain_text(EVIL)
        page.wait_for_timeout(1_000)                     # an onerror handler fires soon after its image fails to load
        expect(mixer.locator('img[src="x"]')).to_have_count(0)
        assert dialogs == [], f'injected HTML ran: {dialogs}'
        mixer.screenshot(path=str(ART/'mixer_injection.png'))
