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
                assert page.title().startswith('melonpy run')
                # every section is there, with a heading
                for s in SECTIONS: assert page.locator(f'h2#{s}').count() == 1, f'section {s} missing'
                assert page.locator('#model ~ table').count() >= 1
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
