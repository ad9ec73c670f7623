"""The report of `melonpy run` opened from the file system in headless Chromium (Playwright): it loads without a
server, every picture decodes, every link and source points at a file in the run folder, nothing is fetched from
elsewhere, and its sections are there. Saves a full-page screenshot to tests/artifacts/report.png."""
import time
from pathlib import Path
from urllib.parse import urlparse, unquote
import pytest

ART = Path(__file__).parent/'artifacts'
ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run']
SECTIONS = ['stages', 'dataset', 'colors', 'model', 'style']

pytestmark = pytest.mark.browser


def test_report_opens_from_file(small_run, chromium):
    from playwright.sync_api import sync_playwright
    run, _, _ = small_run
    report = run/'report.html'
    ART.mkdir(exist_ok=True); (ART/'report_failed.png').unlink(missing_ok=True)
    t0 = time.monotonic()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True, timeout=30_000)
        try:
            page = browser.new_page(viewport={'width': 1200, 'height': 900})
            page.set_default_timeout(15_000)
            requests, failed, errors = [], [], []
            page.on('request', lambda r: requests.append(r.url))
            page.on('requestfailed', lambda r: failed.append(r.url))
            page.on('pageerror', lambda e: errors.append(str(e)))
            try:
                resp = page.goto(report.as_uri(), wait_until='load', timeout=30_000)
                assert resp is None or resp.ok
                assert page.title().startswith('melonpy course report')
                # every section is there, with a heading
                for s in SECTIONS: assert page.locator(f'h2#{s}').count() == 1, f'section {s} missing'
                assert page.locator('#model ~ table').count() >= 1
                # what a class asks: where the model fails (in words), how to read the linear model's panel
                assert page.locator('#fails').count() == 1 and ' of the ' in page.inner_text('#fails'), 'no sentence on where the model fails'
                if (run/'model'/'telling.png').is_file():
                    assert page.locator('#telling-legend').is_visible() and 'How to read it' in page.inner_text('#telling-legend')
                # every picture has loaded and decoded
                imgs = page.eval_on_selector_all('img', 'els => els.map(e => [e.getAttribute("src"), e.complete, e.naturalWidth])')
                assert len(imgs) >= 8, imgs
                broken = [src for src, done, w in imgs if not done or w == 0]
                assert not broken, f'pictures that did not load: {broken}'
                # every link and source resolves to an existing file in the run folder
                refs = page.eval_on_selector_all('[src], [href]', 'els => els.map(e => e.src || e.href)')
                for u in refs:
                    url = urlparse(u)
                    assert url.scheme == 'file', f'reference outside the file system: {u}'
                    f = Path(unquote(url.path))
                    assert f.is_file(), f'broken link: {u}'
                    assert f.resolve().is_relative_to(run.resolve()), f'link outside the run folder: {u}'
                assert not failed and not errors, (failed, errors)
                assert all(r.startswith('file://') for r in requests), [r for r in requests if not r.startswith('file://')]
                page.screenshot(path=str(ART/'report.png'), full_page=True)
                print(f'report: {len(imgs)} pictures, {len(refs)} references, checked in {time.monotonic() - t0:.1f}s')
            except Exception:
                try: page.screenshot(path=str(ART/'report_failed.png'), full_page=True)
                except Exception: pass
                raise
        finally: browser.close()


EVIL = '<img src=x onerror=alert(7)>'


def _evil_run(root):
    "A run folder written by hand, as the stages leave it, whose era, collection and style rows carry a script."
    import json
    import pandas as pd
    from PIL import Image
    run = root/'evil-run'
    for d in ('dataset', 'colors', 'model', 'style'): (run/d).mkdir(parents=True)
    for f in ('colors/measures.png', 'model/confusion.png', 'style/00_a_before.png', 'style/00_a_after.png'):
        Image.new('RGB', (60, 40), 'teal').save(run/f)
    eras = ['1990s', EVIL]
    (run/'stages.json').write_text(json.dumps(dict(settings={}, stages=dict(
        dataset=dict(seconds=1.0, covers=6), model=dict(seconds=2.0, accuracy=0.5, n_test=2, baseline_accuracy=0.5, verdict=EVIL)))))
    (run/'dataset'/'summary.json').write_text(json.dumps(dict(collection=f'/data/{EVIL}', covers=6, eras=eras, skipped=EVIL,
        same_album=0, near_duplicates=0, groups=6, counts={e: dict(train=1, valid=1, test=1) for e in eras})))
    (run/'colors'/'verdict.md').write_text(f'# Colours\n\n6 covers\n\n**{EVIL}** is brighter.\n\n- {EVIL}')
    pd.DataFrame({'measure': ['accuracy'], 'model': [0.5], f'baseline ({EVIL})': [0.5]}).to_csv(run/'model'/'metrics.csv', index=False)
    pd.DataFrame(dict(target=[EVIL], content=['a.jpg'], content_era=[EVIL], before=['00_a_before.png'], after=['00_a_after.png'],
                      p_before=[.2], p_after=[.6])).to_csv(run/'style'/'style.csv', index=False)
    from melonpy.report import report_html
    (run/'report.html').write_text(report_html(run), encoding='utf-8')
    return run


def test_injected_era_name_is_text(tmp_path, chromium):
    "An era (and a collection folder) named like a script shows as text in report.html: no dialog, no injected element."
    from playwright.sync_api import sync_playwright
    run = _evil_run(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True, timeout=30_000)
        try:
            page = browser.new_page()
            dialogs = []
            page.on('dialog', lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto((run/'report.html').as_uri(), wait_until='load')
            page.wait_for_timeout(500)
            assert not dialogs, f'injected script ran: {dialogs}'
            assert page.locator('img[src="x"]').count() == 0
            text = page.inner_text('body')
            assert text.count(EVIL) >= 6, text      # lead, counts table, verdict, metrics, style pair: shown as text
        finally: browser.close()
