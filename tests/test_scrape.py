"Chapter 1 against a real HTTP server on loopback: faults, resume, Ctrl-C, and the CLI convention."
import io, signal, subprocess, sys, time, tracemalloc
import pandas as pd, pytest, requests
from PIL import Image
from melonpy.fetch import fetch, FetchError, as_jpeg, polite_session
from melonpy.scrape import parse_chart, scrape
from melonpy.practice import PracticeMelon, practice_charts, chart_markup
from melons import faulty_melon, hostile_melon
from runcli import interruptible, melonpy, melonpy_inproc, one_line_error

def valid_jpeg(p):
    with Image.open(p) as im:
        im.load()
        return im.format == 'JPEG' and im.mode in ('RGB', 'L')

def test_parse_roundtrip_both_variants():
    charts, _ = practice_charts([2001], per_year=100)
    for v in 'AB':
        df, probs = parse_chart(chart_markup(charts[2001], v).encode('utf-8'), 2001)
        assert not probs and len(df) == 100
        assert df.drop(columns='year').to_dict('records') == charts[2001]

def test_fetch_retries_then_gives_up():
    charts, covers = practice_charts([2000], per_year=5)
    a, b, c = sorted(covers)[:3]
    url = lambda alb: f'/cm/album/images/x/{alb}_500.jpg'
    with PracticeMelon(charts, covers, faults={f'/{a}_500': ['503', 'cut', 'short', 'html']}, missing=[b]) as m:
        s = polite_session()
        data = fetch(m.url + url(a), s, decode=as_jpeg, tries=5, backoff=0.01)
        assert data == covers[a] and m.requests_for(f'/{a}_500') == 5
        with pytest.raises(FetchError, match='HTTP 404'): fetch(m.url + url(b), s, tries=5, backoff=0.01)
        assert m.requests_for(f'/{b}_500') == 1   # a 404 is not retried
        assert requests.get(m.url + url(c)).status_code == 403  # no browser User-Agent, no cover
    with PracticeMelon(charts, covers, faults={f'/{a}_500': ['503'] * 9}) as m:
        with pytest.raises(FetchError, match='HTTP 503 after 3 tries'): fetch(m.url + url(a), tries=3, backoff=0.01)

def test_scrape_30_years_with_faults_then_resume(tmp_path):
    "30 years of charts with every kind of fault (503s, cut pages and covers, truncated and HTML covers, 404s, an unreadable row, an empty year): the first run keeps what it can and says what failed; the second asks only for the empty year again."
    melon, facts = faulty_melon(per_year=60)   # 60 rows a year: both row classes of Melon's markup (lst50, lst100), 1,200 covers, every fault
    out = tmp_path/'covers'
    with melon:
        t = time.time()
        r = melonpy('scrape', '--years', '1990-2019', '--out', out, '--base-url', melon.url, '--delay', 0, '--backoff', 0.01)
        first = time.time() - t
        assert r.returncode == 0, r.stderr
        summary = r.stdout.strip().splitlines()[-1]
        assert 'covers:' in summary and 'Traceback' not in r.stderr
        charts = pd.read_csv(out/'charts.csv', dtype=str, keep_default_na=False)
        assert len(charts) == facts['rows']
        assert set(charts.year.astype(int)) == set(range(1990, 2020)) - facts['empty']
        have = set(charts.album_id) - facts['missing']
        for alb in have: assert valid_jpeg(out/'covers'/f'{alb}.jpg'), alb
        assert not set(p.stem for p in (out/'covers').iterdir()) & facts['missing']
        assert not list((out/'covers').glob('.*')), 'temporary files left behind'
        assert (charts.cover_file == '').sum() == charts.album_id.isin(facts['missing']).sum()
        probs = pd.read_csv(out/'problems.csv', dtype=str, keep_default_na=False)
        assert probs.problem.str.contains('unreadable row').sum() == 1
        assert probs.problem.str.contains('empty chart').sum() == len(facts['empty'])
        assert probs.problem.str.startswith('HTTP 404').sum() == len(facts['missing'])
        assert f"{len(have)} downloaded" in summary and f"{len(facts['missing'])} failed" in summary
        n_before = len(melon.log)
        r2 = melonpy('scrape', '--years', '1990-2019', '--out', out, '--base-url', melon.url, '--delay', 0)
        assert r2.returncode == 0, r2.stderr
        again = melon.log[n_before:]
        assert not [p for p in again if '_500' in p], 'the second run asked for covers'
        assert all('chartDate=1993' in p for p in again)  # only the empty year's page is asked again
        assert f"0 downloaded, {len(have)} already present" in r2.stdout
        assert pd.read_csv(out/'charts.csv', dtype=str, keep_default_na=False).equals(charts)
    print(f'first run {first:.1f}s: {len(charts)} rows, {len(have)} covers')

def test_ctrl_c_keeps_work_and_resumes(tmp_path):
    charts, covers = practice_charts(range(2000, 2004), per_year=50)
    out = tmp_path/'c'
    with PracticeMelon(charts, covers) as m:
        p = subprocess.Popen([sys.executable, '-m', 'melonpy.cli', 'scrape', '--years', '2000-2003', '--out', str(out),
                              '--base-url', m.url, '--delay', '0.05'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=interruptible)
        deadline = time.time() + 60
        while time.time() < deadline and len(list((out/'covers').glob('*.jpg'))) < 10: time.sleep(0.05)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=30)
        assert p.returncode == 130, err
        assert 'run the same command again to resume' in err and 'Traceback' not in err
        got = list((out/'covers').glob('*.jpg'))
        assert 10 <= len(got) < len(covers)
        assert all(valid_jpeg(f) for f in got) and not list((out/'covers').glob('.*'))
        assert len(pd.read_csv(out/'charts.csv')) == 200
        n = len(m.log)
        r = melonpy('scrape', '--years', '2000-2003', '--out', out, '--base-url', m.url, '--delay', 0)
        assert r.returncode == 0, r.stderr
        asked = [q for q in m.log[n:] if '_500' in q]
        assert len(asked) == len(covers) - len(got)
        assert f'{len(got)} already present' in r.stdout
    assert len(list((out/'covers').glob('*.jpg'))) == len(covers)

@pytest.mark.parametrize('args,says', [
    (['--years', '2030-2020'], 'runs backwards'),
    (['--years', 'abc'], 'is not a year'),
    (['--years', '1990-2019', '--size', '5'], '--size'),
    (['--years', '1990', '--genre', 'jazz'], 'invalid choice'),
    (['--years', '1990', '--base-url', 'ftp://x'], '--base-url'),
    (['--years', '1990', '--delay', '-1'], '--delay'),
])
def test_bad_input_one_line(tmp_path, args, says):
    r = melonpy('scrape', '--out', tmp_path/'o', *args)
    assert r.returncode == 2
    assert r.stderr.count('\n') == 1 and says in r.stderr and 'Traceback' not in r.stderr, r.stderr

def test_unwritable_out(tmp_path):
    (tmp_path/'file').write_text('x')
    r = melonpy('scrape', '--years', '1990', '--out', tmp_path/'file'/'sub')
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and 'cannot write to' in r.stderr, r.stderr

def test_help():
    r = melonpy('--help')
    assert r.returncode == 0 and 'scrape' in r.stdout
    r = melonpy('scrape', '--help')
    assert r.returncode == 0 and '--years' in r.stdout and '--base-url' in r.stdout

def test_missing_required_out():
    r = melonpy('scrape', '--years', '1990')
    assert r.returncode == 2 and r.stderr.count('\n') == 1 and '--out' in r.stderr


def test_unreachable_site_fails_fast(tmp_path):
    "No connection at all (here: a port nobody listens on) is one clear error after three years, not 30 years of retries."
    r = melonpy('scrape', '--years', '1990-2019', '--out', tmp_path/'c', '--base-url', 'http://127.0.0.1:9', '--backoff', 0.01, '--delay', 0)
    one_line_error(r, 'cannot reach http://127.0.0.1:9', 'first 3 years', 'internet connection')
    assert len(pd.read_csv(tmp_path/'c'/'problems.csv')) == 3   # what it tried is reported


# --- issue 16: hardening -------------------------------------------------------------------------------------------

def cover_problems(out):
    "problems.csv of folder `out`, and a function: the problems of album `a`'s cover as one string."
    probs = pd.read_csv(out/'problems.csv', dtype=str, keep_default_na=False)
    return probs, lambda a: ' '.join(probs.problem[probs.item == f'cover of album {a}'])

def test_hostile_rows_and_covers_cost_one_line_each_and_rerun_retries_only_those(tmp_path):
    "Bad links, a redirect loop, huge, gzip-bomb and trickling bodies, a giant image, a 300-digit id: all in problems.csv, the run goes on."
    melon, facts = hostile_melon()
    out = tmp_path/'h'
    with melon:
        t = time.time()
        r = scrape('2001-2005', out, base_url=melon.url, delay=0, backoff=0.01, deadline=1, progress=False)
        took = time.time() - t
        assert took < 30, f'the trickle or the retries held the run up: {took:.1f}s'
        probs, why = cover_problems(out)
        for alb, want in facts['covers'].items():
            f = out/'covers'/f'{alb}.jpg'
            if want == 'cover': assert valid_jpeg(f) and not why(alb), (alb, why(alb))
            else: assert not f.exists() and want in why(alb), (alb, want, why(alb))
        for y, want in facts['pages'].items():
            assert want in ' '.join(probs.problem[(probs.year == str(y)) & (probs.item == 'chart page')]), y
        assert probs.problem.str.contains('300 digits is not a Melon album id').sum() == 1
        charts = pd.read_csv(out/'charts.csv', dtype=str, keep_default_na=False)
        assert len(charts) == r['rows'] == facts['rows']
        n = len(melon.log)
        r2 = scrape('2001-2005', out, base_url=melon.url, delay=0, backoff=0.01, deadline=1, progress=False)
        again = melon.log[n:]
        kept = {a for a, w in facts['covers'].items() if w == 'cover'}
        assert not [p for p in again if any(f'/{a}_' in p for a in kept)], 'the rerun asked again for covers it has'
        failed_http = [a for a, w in facts['covers'].items() if w not in ('cover', 'not an http(s) link')]
        assert {a for a in failed_http if any(f'/{a}_' in p for p in again)} == set(failed_http)   # ... but retried those
        assert r2['present'] == r['downloaded'] and r2['downloaded'] == 0 and r2['failed'] == r['failed']
        assert len(pd.read_csv(out/'problems.csv')) == len(probs)   # replaced, not added twice

def test_hostile_melon_cli_ends_well(tmp_path):
    "The same odd rows through `melonpy scrape` (no trickle: the CLI's deadline is 30 s): exit 0 and the summary, no traceback."
    melon, facts = hostile_melon(drip=None)
    with melon:
        r = melonpy('scrape', '--years', '2001-2005', '--out', tmp_path/'h', '--base-url', melon.url, '--delay', 0, '--backoff', 0.01)
    assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr
    assert 'covers:' in r.stdout.strip().splitlines()[-1]
    assert (tmp_path/'h'/'covers'/f"{facts['twice']}.jpg").exists()

def test_download_caps_bound_memory_and_time():
    "A gzip bomb (also as a redirect's body) and an 11 MB body stop at the cap (memory stays small); a trickle stops at the deadline; honest gzip/deflate pass."
    charts, covers = practice_charts([2000], per_year=6)
    a, b, c, d, e, f = sorted(covers)[:6]
    url = lambda alb: f'/cm/album/images/x/{alb}_500.jpg'
    faults = {f'/{a}_500': 'bomb', f'/{b}_500': 'huge', f'/{c}_500': 'drip', f'/{d}_500': 'gzip', f'/{e}_500': 'deflate',
              f'/{f}_500': 'bounce'}
    with PracticeMelon(charts, covers, faults=faults, drip=0.2) as m:
        for alb in (d, e): assert fetch(m.url + url(alb), decode=as_jpeg) == covers[alb]   # compressed, as Melon's pages are
        m.bomb_body()   # made by the server once, before we measure
        tracemalloc.start()
        try:
            assert fetch(m.url + url(f), decode=as_jpeg) == covers[f]   # the redirect is followed, its bomb of a body never read
            peak = tracemalloc.get_traced_memory()[1]
        finally: tracemalloc.stop()
        assert peak < 20 * 2**20, f"{peak / 2**20:.0f} MB in memory for a redirect's body"
        for alb, says in [(a, 'once decompressed'), (b, 'over the 5 MB limit')]:
            tracemalloc.start()
            try:
                with pytest.raises(FetchError, match=says): fetch(m.url + url(alb), tries=1)
                peak = tracemalloc.get_traced_memory()[1]
            finally: tracemalloc.stop()
            assert peak < 40 * 2**20 - (m.huge if alb == b else 0), f'{peak / 2**20:.0f} MB in memory for {says}'
        assert m.requests_for(f'/{a}_500') == 1   # refused, not retried
        t = time.time()
        with pytest.raises(FetchError, match='too slow'): fetch(m.url + url(c), decode=as_jpeg, deadline=1, timeout=5)
        assert time.time() - t < 3 and m.requests_for(f'/{c}_500') == 1

def test_pixel_cap_agrees_with_open_cover(monkeypatch):
    "as_jpeg keeps exactly what chapter 2's open_cover accepts for pixel count: at the limit yes, one pixel more no."
    from melonpy.data import open_cover, BadImage
    def png(w, h):
        buf = io.BytesIO(); Image.new('RGB', (w, h), 'grey').save(buf, 'PNG'); return buf.getvalue()
    monkeypatch.setattr(Image, 'MAX_IMAGE_PIXELS', 100 * 100)
    import tempfile, pathlib
    d = pathlib.Path(tempfile.mkdtemp())
    (d/'ok.jpg').write_bytes(as_jpeg(png(100, 100))); open_cover(d/'ok.jpg')
    (d/'big.png').write_bytes(png(101, 100))
    with pytest.raises(BadImage): open_cover(d/'big.png')
    with pytest.raises(ValueError, match='too many pixels'): as_jpeg(png(101, 100))

def test_runs_add_to_a_folder(tmp_path):
    "1990 then 1991 into one folder lists 200 rows with their covers; a year scraped again replaces its rows and problems."
    charts, covers = practice_charts([1990, 1991], per_year=100)
    gone = charts[1990][0]['album_id']
    out = tmp_path/'c'
    with PracticeMelon(charts, covers, missing=[gone]) as m:
        for y in ('1990', '1991', '1990'):
            r = melonpy('scrape', '--years', y, '--out', out, '--base-url', m.url, '--delay', 0)
            assert r.returncode == 0, r.stderr
            ch = pd.read_csv(out/'charts.csv', dtype=str, keep_default_na=False)
            probs, why = cover_problems(out)
            assert why(gone).startswith('HTTP 404') and len(probs) == 1, probs   # 1990's problem survives the 1991 run
    assert len(ch) == 200 and ch.year.value_counts().to_dict() == {'1990': 100, '1991': 100}
    assert (ch.cover_file != '').sum() == (ch.album_id != gone).sum()
    assert 'charts.csv now lists 200 rows' in r.stdout

def test_album_on_several_rows_good_cover_wins(tmp_path):
    "An album listed first with a dead cover link and then with a good one ends with the good cover."
    charts, covers = practice_charts([1990, 1991], per_year=10)
    alb = next(r for r in charts[1991] if r['album_id'] not in {x['album_id'] for x in charts[1990]})
    charts[1990].append(dict(alb, rank=11, cover_url=alb['cover_url'].replace('_500.jpg', '_404.jpg')))
    with PracticeMelon(charts, covers) as m:
        r = scrape('1990-1991', tmp_path/'c', base_url=m.url, delay=0, progress=False)
    assert valid_jpeg(tmp_path/'c'/'covers'/f"{alb['album_id']}.jpg") and r['failed'] == 0

def test_second_scrape_into_the_same_folder_stops_with_one_line(tmp_path):
    "A second scrape into a folder another one is writing stops at once with one line; the lock goes with its holder, even killed."
    charts, covers = practice_charts(range(2000, 2003), per_year=30)
    out = tmp_path/'c'
    lock = out/'.melonpy-scrape.lock'
    with PracticeMelon(charts, covers) as m:
        args = [sys.executable, '-m', 'melonpy.cli', 'scrape', '--years', '2000-2002', '--out', str(out), '--base-url', m.url]
        first = subprocess.Popen(args + ['--delay', '0.1'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + 60
            while time.time() < deadline and not (lock.exists() and lock.read_text().strip()): time.sleep(0.05)
            one_line_error(melonpy_inproc('scrape', '--years', '2000', '--out', out, '--base-url', m.url, '--delay', 0),
                           'another scrape is writing to', str(out))
            first.kill(); first.wait(timeout=30)   # killed while holding the lock: the lock goes with it
        finally:
            if first.poll() is None: first.kill()
        r = melonpy('scrape', '--years', '2000-2002', '--out', out, '--base-url', m.url, '--delay', 0)
        assert r.returncode == 0, r.stderr
    assert len(pd.read_csv(out/'charts.csv')) == 90

def test_nothing_collected_exits_nonzero(tmp_path):
    "A run that collects nothing at all (every year empty) exits 1 with one line, not 0."
    with PracticeMelon({1990: [], 1991: []}, {}) as m:
        r = melonpy('scrape', '--years', '1990-1991', '--out', tmp_path/'c', '--base-url', m.url, '--delay', 0)
    lines = [l for l in r.stderr.strip().splitlines() if l.strip() and not l.startswith(('charts:', 'covers:'))]   # not the bars
    assert r.returncode == 1 and len(lines) == 1 and 'nothing was collected' in lines[0] and 'Traceback' not in r.stderr, r.stderr

@pytest.mark.parametrize('name,text', [
    ('problems.csv', 'year,item\n1990,"unclosed\n'),
    ('problems.csv', 'a,b\n1,2\n'),
    ('problems.csv', b'\xff\xfe\x00garbage\x00\n'),
    ('charts.csv', 'year,rank\n1990,1\n'),
])
def test_unreadable_table_in_the_folder_is_one_line_and_kept(tmp_path, name, text):
    "A corrupt problems.csv or charts.csv stops the run with one line naming it, before anything is fetched or overwritten."
    out = tmp_path/'c'; out.mkdir()
    (out/name).write_bytes(text if isinstance(text, bytes) else text.encode())
    before = (out/name).read_bytes()
    charts, covers = practice_charts([1990], per_year=5)
    with PracticeMelon(charts, covers) as m:
        one_line_error(melonpy('scrape', '--years', '1990', '--out', out, '--base-url', m.url, '--delay', 0), name)
        assert m.log == []
    assert (out/name).read_bytes() == before


# --- issue 29: hardening, second round -----------------------------------------------------------------------------

def test_header_drip_stops_at_the_deadline():
    "A server that sends its status line and headers one byte every 0.2 s: `fetch` gives up at the 1 s deadline (it waited for every header byte)."
    charts, covers = practice_charts([2000], per_year=2)
    a = sorted(covers)[0]
    with PracticeMelon(charts, covers, faults={f'/{a}_500': 'header_drip'}, drip=0.2) as m:
        t = time.time()
        with pytest.raises(FetchError, match='too slow'): fetch(f'{m.url}/cm/album/images/x/{a}_500.jpg', tries=1, deadline=1, timeout=5)
        assert time.time() - t < 3


def test_covers_only_from_the_site_and_melons_cdn(tmp_path):
    "Cover links to another port, with a user and password, and a redirect to another port: refused in problems.csv, nothing asked of the other server, no credentials sent; the CDN's and the site's links still work."
    charts, covers = practice_charts([2000], per_year=8)
    rows = charts[2000]
    other_charts, other_covers = practice_charts([2000], per_year=2, seed=9)
    with PracticeMelon(other_charts, other_covers) as other:
        off, creds, bounce = rows[0]['album_id'], rows[1]['album_id'], rows[2]['album_id']
        rows[0]['cover_url'] = f'{other.url}/cm/album/images/x/{off}_500.jpg'
        host = None
        with PracticeMelon(charts, covers, faults={f'/{bounce}_500': f'to:{other.url}/cm/album/images/x/{bounce}_500.jpg'}) as m:
            host = m.url.split('//')[1]
            rows[1]['cover_url'] = f'http://student:secret@{host}/cm/album/images/x/{creds}_500.jpg'
            r = scrape([2000], tmp_path/'o', base_url=m.url, delay=0, backoff=0.01, tries=1, progress=False)
            assert not other.log, other.log                       # the other server was never asked
            assert not m.auth, m.auth                             # no credentials were sent
        probs = pd.read_csv(tmp_path/'o'/'problems.csv', dtype=str, keep_default_na=False)
        why = lambda a: ' '.join(probs.problem[probs.item == f'cover of album {a}'])
        assert 'neither the site nor Melon' in why(off) and 'user name or password' in why(creds) and 'redirected to' in why(bounce)
        assert r['downloaded'] == len({x['album_id'] for x in rows}) - 3


def test_chart_page_with_one_bad_byte_keeps_its_korean():
    "A chart page (UTF-8, as Melon says) with one byte that is not UTF-8: the Korean titles stay Korean (they all became mojibake), and the problem is listed."
    charts, _ = practice_charts([2000], per_year=3)
    rows = [dict(r, title=f'사랑의 노래 {i}', artists='가수') for i, r in enumerate(charts[2000])]
    page = chart_markup(rows).encode('utf-8')
    page = page.replace('사랑의 노래 0'.encode(), '사랑의 노래 0'.encode() + b'\xff', 1)
    df, problems = parse_chart(page, 2000)
    assert [t.replace('\ufffd', '') for t in df.title] == ['사랑의 노래 0', '사랑의 노래 1', '사랑의 노래 2'] and set(df.artists) == {'가수'}
    assert any('not valid text' in p['problem'] for p in problems)


def test_practice_server_is_quiet_when_a_download_is_refused(capfd):
    "The capped downloads of chapter 1 against its practice server: the client hangs up on a huge or trickling body, and the server prints no ConnectionResetError traceback (it showed in JupyterLab)."
    charts, covers = practice_charts([2000], per_year=4)
    a, b, c = sorted(covers)[:3]
    with PracticeMelon(charts, covers, faults={f'/{a}_500': 'huge', f'/{b}_500': 'drip', f'/{c}_500': 'drip'}, drip=0.05) as m:
        with pytest.raises(FetchError, match='over the'): fetch(f'{m.url}/cm/album/images/x/{a}_500.jpg', tries=1, max_bytes=2**20)
        for x in (b, c):
            with pytest.raises(FetchError, match='too slow'): fetch(f'{m.url}/cm/album/images/x/{x}_500.jpg', tries=1, deadline=0.5)
        time.sleep(1)   # the server's threads notice that the client left
        for e in (ConnectionResetError(104, 'Connection reset by peer'), BrokenPipeError(32, 'Broken pipe')):
            try: raise e   # what a handler thread meets when the client hung up between requests: the server's own error report
            except OSError: m.server.handle_error(None, ('127.0.0.1', 0))
    err = capfd.readouterr().err
    assert 'Traceback' not in err and 'ConnectionResetError' not in err and 'BrokenPipeError' not in err, err[-2000:]
