"""The docs site (`./docs.sh`), built from the notebooks and read in headless Chromium like a student would.

Builds the site into a temporary folder, serves it on loopback and visits every page: no console error, no request
leaves the site (no CDN), every image loads, every link inside the site reaches a page (and its #anchor); the sidebar
lists the chapters in order, searching "Gram" finds chapter 7, each API page shows every name of its module's live
`__all__`, the CLI page every command's real `--help`. Saves screenshots to tests/artifacts/docs_*.png.
Expected values come from the repository (nbs/, nbs/sidebar.yml, melonpy/_modidx.py, melonpy.cli), never from here.
"""
import functools, http.server, importlib, os, re, subprocess, sys, threading, time
from pathlib import Path
from urllib.parse import urljoin, urlsplit, unquote
import pytest

ROOT = Path(__file__).resolve().parents[1]
ART = Path(__file__).parent/'artifacts'
ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run']
TABS = 4   # pages visited at once

pytestmark = pytest.mark.browser


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "Build the site with the README's command into a temporary folder; fail with the build's output if it fails."
    pytest.importorskip('sphinx', reason='the docs generator is not installed: pip install -e ".[dev]"')
    tmp = tmp_path_factory.mktemp('docs')
    out = tmp/'site'
    t0 = time.monotonic()
    r = subprocess.run([str(ROOT/'docs.sh'), '--quiet', '--out', str(out), '--work', str(tmp/'work')],
                       capture_output=True, text=True, timeout=300)
    took = time.monotonic() - t0
    assert r.returncode == 0, f'./docs.sh failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}'
    assert 'WARNING' not in r.stderr, f'./docs.sh warned:\n{r.stderr[-3000:]}'
    assert took < 120, f'the docs build took {took:.0f}s (README promises under 2 minutes)'
    return out


@pytest.fixture(scope='module')
def server(site):
    "Serve the site on loopback, as a web host would."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(site)))
    t = threading.Thread(target=httpd.serve_forever, daemon=True); t.start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}/'
    httpd.shutdown(); httpd.server_close()


def _sections():
    "`[(caption, [notebook stem, ...])]` of nbs/sidebar.yml."
    import yaml
    items = yaml.safe_load((ROOT/'nbs'/'sidebar.yml').read_text())['website']['sidebar']['contents']
    return [(i['section'], [Path(n).stem for n in i['contents']]) for i in items if isinstance(i, dict) and 'section' in i]


def _api_modules():
    from melonpy._modidx import d
    return sorted(d['syms'])


def _page_of(url, base):
    "Path of the file in the site that `url` (inside the site) is served from."
    p = unquote(urlsplit(url).path)[len(urlsplit(base).path):]
    return p + 'index.html' if p == '' or p.endswith('/') else p


def test_site_in_chromium(site, server, chromium):
    sync_api = pytest.importorskip('playwright.sync_api')
    pages = sorted(str(p.relative_to(site)) for p in site.rglob('*.html') if not p.relative_to(site).parts[0].startswith('_'))
    chapters = sorted(p.stem for p in (ROOT/'nbs').glob('[0-9]*.ipynb'))
    for nb in chapters + ['index']: assert f'{nb}.html' in pages, f'no page for nbs/{nb}.ipynb'
    mods = _api_modules()
    for m in mods: assert f'api/{m.split(".")[-1]}.html' in pages, f'no API page for {m}'
    ART.mkdir(exist_ok=True)
    problems, ids, links = [], {}, []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            # every page in one of TABS tabs, a batch of pages at a time: each page still waits for its own load and
            # network idle (500 ms without a request), but the tabs' quiet times overlap instead of adding up
            tabs = [browser.new_page(viewport={'width': 1280, 'height': 900}) for _ in range(TABS)]
            page, current = tabs[0], {}
            def listen(tab):   # each event named after the page its own tab shows
                tab.on('console', lambda m: m.type == 'error' and problems.append(f'{current[tab]}: console error: {m.text}'))
                tab.on('pageerror', lambda e: problems.append(f'{current[tab]}: page error: {e}'))
                tab.on('request', lambda r: r.url.startswith((server, 'data:', 'blob:', 'about:')) or
                       problems.append(f'{current[tab]}: request outside the site: {r.url}'))
                tab.on('response', lambda r: r.status >= 400 and problems.append(f'{current[tab]}: HTTP {r.status} for {r.url}'))
            for tab in tabs: listen(tab)
            for i in range(0, len(pages), TABS):
                batch = list(zip(tabs, pages[i:i + TABS]))
                for tab, p in batch:
                    current[tab] = p
                    tab.goto(server + p, wait_until='commit', timeout=30_000)
                for tab, p in batch:
                    tab.wait_for_load_state('load', timeout=30_000)
                    tab.wait_for_load_state('networkidle', timeout=30_000)
                    broken = tab.eval_on_selector_all('img', 'els => els.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)')
                    problems += [f'{p}: broken image {s}' for s in broken]
                    if tab.locator('div.highlight-mermaid').count():
                        problems.append(f'{p}: a Mermaid diagram shown as text: draw it with docs/render_mermaid.py')
                    ids[p] = set(tab.eval_on_selector_all('[id]', 'els => els.map(e => e.id)'))
                    links += [(p, h) for h in tab.eval_on_selector_all('a[href]', 'els => els.map(a => a.href)')]
            for tab in tabs[1:]: tab.close()
            # every link inside the site reaches a page of it, and the #anchor is on that page
            for p, h in links:
                if not h.startswith(server): continue
                target = _page_of(h, server)
                if not (site/target).is_file(): problems.append(f'{p}: broken link {h}'); continue
                frag = unquote(urlsplit(h).fragment)
                if frag and target in ids and frag not in ids[target]: problems.append(f'{p}: link to a missing anchor {h}')
            assert not problems, '\n'.join(problems[:40])

            # the sidebar: every notebook, the chapters in order
            page.goto(server + 'index.html')
            side = [_page_of(urljoin(server + 'index.html', h), server).removesuffix('.html')
                    for h in page.eval_on_selector_all('nav.bd-links a.reference', 'els => els.map(a => a.getAttribute("href"))')]
            for cap, nbs in _sections():
                got = [s for s in side if s in nbs]
                assert got == nbs, f'sidebar section {cap}: {got} != {nbs}'
            chs = [s for s in side if s in chapters]
            assert sorted(set(chs)) == chapters, f'sidebar misses chapters: {set(chapters) - set(chs)}'
            main_section = next(nbs for cap, nbs in _sections() if len(nbs) == max(len(n) for _, n in _sections()))
            assert main_section == sorted(main_section), 'the chapters section is not in chapter order'
            fresh = browser.new_page(viewport={'width': 1280, 'height': 900})   # as a first visit: sidebar at its top
            fresh.goto(server + 'index.html'); fresh.wait_for_load_state('networkidle')
            fresh.screenshot(path=str(ART/'docs_front.png')); fresh.close()

            # the front page has the README's chapter table, each chapter linking to its page
            readme = (ROOT/'README.md').read_text(encoding='utf-8')
            rows = re.findall(r'^\| \[([^\]]+)\]\(([^)]+\.ipynb)\)', readme, re.M)
            assert rows, 'README.md has no chapter table'
            front = {a.strip(): _page_of(urljoin(server + 'index.html', h), server) for a, h in
                     page.eval_on_selector_all('main a[href]', 'els => els.map(a => [a.innerText, a.getAttribute("href")])')}
            for text, nb in rows: assert front.get(text) == Path(nb).stem + '.html', f'front page: no link "{text}" to {Path(nb).stem}.html'

            # search: "Gram" finds chapter 7 (the chapter whose notebook starts with 07_)
            ch7 = next(c for c in chapters if c.startswith('07_'))
            page.goto(server + 'search.html?q=Gram')
            page.wait_for_function('() => /Search finished/.test(document.querySelector("#search-results")?.innerText || "")', timeout=60_000)
            found = page.eval_on_selector_all('#search-results ul.search li a', 'els => els.map(a => a.getAttribute("href"))')
            assert any(Path(urlsplit(h).path).stem == ch7 for h in found), f'searching "Gram" did not find {ch7}: {found[:10]}'

            # each API page lists every name of its module's live __all__
            for m in mods:
                mod = importlib.import_module(m)
                p = f'api/{m.split(".")[-1]}.html'
                missing = [n for n in getattr(mod, '__all__', []) if f'{m}.{n}' not in ids[p]]
                assert not missing, f'{p} does not show {missing} of {m}.__all__'
            api = f'api/{mods[0].split(".")[-1]}.html'
            api = next((f'api/{m.split(".")[-1]}.html' for m in mods if m.endswith('.models')), api)
            page.goto(server + api); page.screenshot(path=str(ART/'docs_api.png'))

            # the CLI page shows the real --help of every command
            from melonpy.cli import commands
            page.goto(server + 'cli_reference.html')
            text = page.inner_text('main')
            for cmd in commands: assert f'usage: melonpy {cmd}' in text, f'no --help of melonpy {cmd} on the CLI page'

            # a chapter with figures and math: images drawn, MathJax (served by the site) typeset the formulas
            page.goto(server + f'{ch7}.html'); page.wait_for_load_state('networkidle')
            if page.locator('.math').count(): page.wait_for_selector('mjx-container', timeout=30_000)
            ch = next((c for c in chapters if c.startswith('04_')), chapters[0])
            page.goto(server + f'{ch}.html'); page.wait_for_load_state('networkidle')
            assert page.locator('main .cell_output img').count() > 0, f'{ch} shows no figure'
            biggest = page.eval_on_selector_all('main .cell_output img', 'els => els.map(i => i.naturalWidth * i.naturalHeight)')
            page.locator('main .cell_output img').nth(biggest.index(max(biggest))).scroll_into_view_if_needed()
            page.screenshot(path=str(ART/'docs_chapter.png'))
        finally:
            browser.close()
