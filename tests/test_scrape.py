"Chapter 1 against a real HTTP server on loopback: faults, resume, Ctrl-C, and the CLI convention."
import signal, subprocess, sys, time
import pandas as pd, pytest, requests
from PIL import Image
from melonpy.scrape import (PracticeMelon, practice_charts, parse_chart, chart_markup, fetch, FetchError, as_jpeg,
                            polite_session)
from melon_scenario import faulty_melon
from cli import interruptible, melonpy, one_line_error

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
    melon, facts = faulty_melon()
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
