"""`melonpy run` (chapter 8) as a user runs it: bad input gives one clear line, a small run writes a report, a rerun
skips the finished stages, and a run stopped with Ctrl-C resumes where it stopped."""
from markupsafe import escape
import html, json, os, re, shutil, signal, subprocess, sys, threading, time
import pandas as pd, pytest
from scipy.stats import binomtest
from runcli import interruptible, melonpy, melonpy_env, melonpy_inproc, one_line_error

STAGES = ['scrape', 'dataset', 'colors', 'model', 'style', 'report']


@pytest.fixture(scope='module')
def fake(tmp_path_factory):
    "A tiny practice collection (chapter 2's `fake_scrape`), made without torch."
    from melonpy.splits import fake_scrape
    return fake_scrape(tmp_path_factory.mktemp('fake')/'covers', n=20)


def test_bad_inputs(tmp_path, fake):
    a_file = tmp_path/'a-file'; a_file.write_text('not a folder')
    no_covers = tmp_path/'empty'; no_covers.mkdir(); (no_covers/'notes.txt').write_text('no images here')
    cases = {
        'no such --data': (['--data', tmp_path/'nowhere'], 'no such folder'),
        '--data without covers': (['--data', no_covers], 'no subfolder holds images'),
        '--data that is a file': (['--data', a_file], 'no such folder'),
        '--data without the eras': (['--data', fake, '--eras', '1990s,2010s'], 'era 2010s is not in'),
        '--out is a file': (['--data', fake, '--out', a_file], 'is a file'),
        '--out not writable': (['--data', fake, '--out', '/proc/melonpy-run'], 'cannot write'),
        '--out under a file': (['--data', fake, '--out', a_file/'run'], ''),
        'backwards years': (['--years', '2019-1990'], 'backwards'),
        '--years with --data': (['--data', fake, '--years', '1990-1999'], '--years'),
        'one era': (['--data', fake, '--eras', '1990s'], 'at least two eras'),
        'too few per era': (['--data', fake, '--max-per-era', '2'], 'out of range: give 4 or more'),
        'no --out': (['--data', fake], '--out'),
    }
    for name, (args, words) in cases.items():
        if '--out' not in map(str, args) and name != 'no --out': args = [*args, '--out', tmp_path/'run']
        if fake in args and '--eras' not in args: args = [*args, '--eras', '1990s,2000s']   # the practice collection's eras
        t = time.monotonic()
        err = one_line_error(melonpy('run', *args))
        assert words in err, (name, err)
        assert time.monotonic() - t < 30, (name, 'took too long to fail')
        print(f'{name}: {err}')
    assert not (tmp_path/'run').exists(), 'bad input must fail before making the run folder'


def test_scrape_without_connection(tmp_path):
    "No --data and no Melon (a closed port): the scrape fails with one line, and is not marked finished."
    r = melonpy('run', '--years', '1995', '--base-url', 'http://127.0.0.1:9', '--delay', '0', '--out', tmp_path/'run', timeout=120)
    err = one_line_error(r, after_bars=True)
    assert 'no chart rows' in err and '--data' in err, err
    assert 'scrape' not in json.loads((tmp_path/'run'/'stages.json').read_text())['stages'] \
        if (tmp_path/'run'/'stages.json').exists() else True


def _stages(run):
    return json.loads((run/'stages.json').read_text())


def test_small_run(small_run):
    run, r, secs = small_run
    book = _stages(run)
    assert list(book['stages']) == STAGES, book['stages'].keys()
    assert all(v['seconds'] >= 0 for v in book['stages'].values())
    for f in ('dataset/split.csv', 'dataset/summary.json', 'colors/measures.png', 'colors/stats.csv', 'model.safetensors',
              'model/metrics.csv', 'model/confusion.png', 'model/gradcam.png', 'style/style.csv',
              'style/grid.csv', 'style/grid_before.png', 'style/grid_0.png', 'report.html'):
        assert (run/f).is_file() and (run/f).stat().st_size > 0, f
    assert (run/'model'/'curves.png').is_file() or (run/'model'/'telling.png').is_file()   # a network's epochs, or a linear model's weights
    grid = pd.read_csv(run/'style'/'grid.csv')   # one cover toward every era, shown in the report
    assert list(grid.target) == book['settings']['eras'] and grid.content.nunique() == 1
    assert all(f'src="style/{a}"' in (run/'report.html').read_text() for a in grid.after)
    last = r.stdout.strip().splitlines()[-1]
    assert 'stages: scrape' in last and 'report:' in last and str(run/'report.html') in last, last
    assert not [p for p in run.rglob('.*') if p.is_file()], 'temporary files were left behind'
    print(f'small run in {secs:.0f}s: {last}')


def test_progress_moves(small_run):
    "The stage bar counts finished stages (the model stage starts at 3/6, not 0/6) and a training bar advances inside it."
    _, r, _ = small_run
    err = r.stderr.replace('\r', '\n')
    stages = re.findall(r'melonpy run:\s+\d+%\|[^|]*\|\s*(\d)/6 .*?(?:, (\w+)(?::[^\]]*)?\])?$', err, re.M)
    at = {}
    for k, name in stages:
        if name: at.setdefault(name, int(k))   # the count when the stage began
    assert at.get('model') == 3 and at.get('report') == 5, (at, err[-3000:])
    bars = [l for l in err.splitlines() if l.startswith('melonpy run:')]
    assert bars and not [l for l in bars if '<' in l], bars[-3:]   # no time left guessed from a rate of stages (it said 13 s for 8 minutes)
    train = re.findall(r'(?:training \S+ \((?:new head|all layers)\)|\S+_linear features):\s+\d+%\|[^|]*\|\s*(\d+)/\d+', err)
    assert len(set(train)) >= 2, err[-3000:]
    assert re.search(r'test covers:\s+\d+%\|[^|]*\|\s*\d+/\d+', err), err[-3000:]   # after training, the test covers have a bar of their own (a few covers finish in one step: no 100% line)


def test_model_verdict_matches_predictions(small_run):
    "The model stage's accuracy and paired p-value against the baseline agree with its own predictions.csv, and the summary and report say them."
    run, r, _ = small_run
    m = _stages(run)['stages']['model']
    pr = pd.read_csv(run/'model'/'predictions.csv')
    pr = pr[pr.error.isna()]   # '' (read back as NaN) = the image was readable
    major = json.loads((run/'model'/'metrics.json').read_text())['majority']
    ok, base = pr.pred == pr.era, pr.era == major
    wins, losses = int((ok & ~base).sum()), int((~ok & base).sum())
    p = binomtest(wins, wins + losses, 0.5, alternative='greater').pvalue if wins + losses else 1.0
    assert m['n_test'] == len(pr) and m['accuracy'] == pytest.approx(ok.mean()) and m['p_vs_baseline'] == pytest.approx(p), (m, wins, losses)
    assert f'paired test p = {p:.2g})' in r.stdout.strip().splitlines()[-1]
    assert m['verdict'].startswith(f'paired test p = {p:.2g}: ') and html.escape(m['verdict']) in (run/'report.html').read_text()
    split = pd.read_csv(run/'dataset'/'split.csv')
    mixed = 'source' in split and split.groupby('source').era.nunique().gt(1).any()   # the shared covers: sources, some mixing eras
    assert m['summary'].startswith('On covers like those of your own' if mixed else 'Of the test covers of each era') and 'Its years are off by' in m['summary'], m['summary']
    assert str(escape(m['summary'])) in (run/'report.html').read_text()   # as the report's template escapes it


def test_rerun_skips_finished_stages(small_run, small_run_args, tmp_path):
    run_args = small_run_args
    run, _, _ = small_run
    if run_args(run) is None: pytest.skip('the rerun through the command needs the project\'s shared test material (set MELONPY_SHARED to its folder)')
    before = {f: f.stat().st_mtime_ns for f in (run/'model.safetensors', run/'report.html', run/'dataset'/'split.csv')}
    t = time.monotonic()
    r = melonpy(*run_args(run), timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert time.monotonic() - t < 30
    assert _stages(run)['resumed'] == STAGES
    assert {f: f.stat().st_mtime_ns for f in before} == before, 'a finished stage was run again'
    assert 'done before' in r.stdout and 'this run 0s' in r.stdout, r.stdout
    # other settings in the same folder (a copy): the stages they change run again, the others are kept
    other = tmp_path/'other'; shutil.copytree(run, other)
    r = melonpy(*run_args(run)[:-2], '--no-pretrained', '--out', other, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    from melonpy.course import course_settings, stage_key
    q = course_settings(quick=True)
    acts = stage_key('style', q) != stage_key('style', dict(q, pretrained=False, vgg_weights=None))   # --quick's style route may need no VGG16
    assert _stages(other)['resumed'] == (['scrape', 'dataset', 'colors', 'model'] if acts else STAGES), _stages(other)
    assert _stages(other)['changed']['redo'] == ('style' if acts else None), _stages(other)['changed']
    assert (other/'model.safetensors').stat().st_mtime_ns == (run/'model.safetensors').stat().st_mtime_ns


def test_ctrl_c_then_resume(small_run, small_run_args, tmp_path):
    "Ctrl-C during the model stage: exit 130 with one line; the next run redoes only the model stage and after."
    run_args = small_run_args
    src, _, _ = small_run
    if run_args(src) is None: pytest.skip('the resumed run needs the project\'s shared test material (set MELONPY_SHARED to its folder)')
    run = tmp_path/'run'
    shutil.copytree(src, run)
    book = _stages(run)
    for s in ('model', 'style', 'report'): del book['stages'][s]
    (run/'stages.json').write_text(json.dumps(book))
    (run/'model.safetensors').unlink()
    split = (run/'dataset'/'split.csv').stat().st_mtime_ns
    p = subprocess.Popen([sys.executable, '-m', 'melonpy.cli', *map(str, run_args(run))], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=melonpy_env(), preexec_fn=interruptible)
    err_parts = []
    chunks = lambda: os.read(p.stderr.fileno(), 65536).decode('utf-8', 'replace').replace('\r', '\n')   # whole chunks: one character at a time fell behind a busy machine
    reader = threading.Thread(target=lambda: err_parts.extend(iter(chunks, '')), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while ', model' not in ''.join(err_parts):   # the stage bar names the stage it is in
            assert p.poll() is None and time.monotonic() < deadline, ('the run did not reach the model stage', ''.join(err_parts)[-2000:])
            time.sleep(0.1)
        time.sleep(1)
        p.send_signal(signal.SIGINT)
        p.wait(timeout=60); reader.join(10)
    finally:
        if p.poll() is None: p.kill(); p.wait()
    err = ''.join(err_parts).split('\r')[-1]   # after the progress bar's last redraw
    assert p.returncode == 130, (p.returncode, err[-2000:])
    assert 'Traceback' not in err and 'interrupted' in err and 'run the same command again' in err, err[-2000:]
    assert 'model' not in _stages(run)['stages'] and not (run/'model.safetensors').exists()
    stopped = _stages(run)['attempts']['model']
    assert len(stopped) == 1 and stopped[0]['seconds'] > 0 and stopped[0]['why'] == 'KeyboardInterrupt', stopped
    r = melonpy(*run_args(run), timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    book = _stages(run)
    assert book['resumed'] == ['scrape', 'dataset', 'colors'] and list(book['stages']) == STAGES
    assert book['stages']['model']['earlier'] == stopped and not book['attempts'], book   # the stopped attempt's time, kept beside the one that finished
    assert f"stopped after {stopped[0]['seconds']:.1f} s (KeyboardInterrupt)" in (run/'report.html').read_text()
    assert (run/'model.safetensors').is_file() and (run/'dataset'/'split.csv').stat().st_mtime_ns == split


def _offline_env(tmp_path, **extra):
    "No internet (every request sent to a closed port), an empty TORCH_HOME, no local copy of any weights, no shared material."
    closed = 'http://127.0.0.1:9'
    env = melonpy_env(TORCH_HOME=tmp_path/'empty-torch-home', https_proxy=closed, HTTPS_PROXY=closed, http_proxy=closed, HTTP_PROXY=closed,
                      MELONPY_CACHE=tmp_path/'cache', **extra)
    for k in {'MELONPY_SHARED', 'MELONPY_VGG16_WEIGHTS', 'MELONPY_DATA', 'MELONPY_KIT'} - set(extra): env.pop(k, None)
    return env


def test_offline_run_names_a_flag_that_works(tmp_path, fake):
    """No internet, all in one --out folder, as a user goes on: the scrape fails in one line naming --data; with --data,
    a run whose settings need a download stops before its first stage, in one line naming the flags that work (it used to
    stop in the style stage after minutes of work); the same folder then takes --quick, which downloads nothing and
    finishes in one attempt."""
    from melonpy.course import course_settings, run_downloads
    env, closed, run = _offline_env(tmp_path), 'http://127.0.0.1:9', tmp_path/'run'
    scrape_env = dict(env, no_proxy='127.0.0.1', NO_PROXY='127.0.0.1')   # the closed port itself: refused, the site cannot be reached
    err = one_line_error(melonpy('run', '--years', '1990-1992', '--base-url', closed, '--delay', 0, '--quick', '--out', run, env=scrape_env, timeout=300), after_bars=True)
    assert 'cannot reach' in err and '--data DIR' in err, err
    args = ['run', '--data', fake, '--eras', '1990s,2000s', '--out', run, '--threads', 1]
    if run_downloads(course_settings()):   # the default run needs a download (VGG16 for the Gatys route): refused before any work
        err = one_line_error(melonpy('run', '--years', '1990-1992', '--base-url', closed, '--delay', 0, '--out', run, env=scrape_env, timeout=300))
        assert 'no stage was started' in err and '--data DIR' in err, err   # the scrape would need the internet too: both in one line
        t = time.monotonic()
        err = one_line_error(melonpy(*args, env=env, timeout=300), after_bars=True)
        assert time.monotonic() - t < 60 and 'no stage was started' in err, err
        assert all(f in err for f in ('--weights PATH', '--quick', '--no-pretrained', 'MELONPY_KIT')), err
        assert _stages(run)['stages'] == {}, _stages(run)
    r = melonpy(*args, '--quick', env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    book = _stages(run)
    assert list(book['stages']) == STAGES and (run/'report.html').is_file(), book
    assert not (tmp_path/'empty-torch-home').exists() or not any((tmp_path/'empty-torch-home').rglob('*.pth')), 'something was downloaded'


def test_downloads_are_fetched_before_the_first_stage(tmp_path, monkeypatch):
    "A download a run needs is fetched before any stage (here from a local HTTP server), into $TORCH_HOME where the stage finds it; a second check downloads nothing."
    import functools, http.server, threading
    from melonpy import course, stages
    (tmp_path/'site').mkdir(); (tmp_path/'site'/'w-0123abcd.pth').write_bytes(b'weights' * 1000)
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(http.server.SimpleHTTPRequestHandler, directory=tmp_path/'site'))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    monkeypatch.setenv('TORCH_HOME', str(tmp_path/'th'))
    for k in ('http_proxy', 'HTTP_PROXY'): monkeypatch.delenv(k, raising=False)
    weights = type('W', (), dict(url=f'http://127.0.0.1:{srv.server_address[1]}/w-0123abcd.pth', meta={'_file_size': 0.007}))
    monkeypatch.setitem(course.stage_downloads, 'model', lambda s: [stages._download('model', 'test weights', weights, None, '--no-pretrained')])
    try:
        made = course.check_downloads(course.course_settings(quick=True), ['model', 'style'], progress=False)
        assert [d['what'] for d in made] == ['test weights']
        assert (tmp_path/'th'/'hub'/'checkpoints'/'w-0123abcd.pth').read_bytes() == b'weights' * 1000
        assert course.check_downloads(course.course_settings(quick=True), ['model'], progress=False) == []   # there now: nothing to fetch
        assert course.check_downloads(course.course_settings(quick=True), ['style', 'report'], progress=False) == []   # a stage already done asks nothing
    finally: srv.shutdown()


def test_class_kit_runs_offline(tmp_path, fake, monkeypatch):
    """A teacher makes a class kit on a connected machine (here from local copies: the practice covers, a VGG16 copy and
    a checkpoint in TORCH_HOME); a class machine with no internet and an empty TORCH_HOME sets MELONPY_KIT and runs the
    whole course with the default settings' downloads (VGG16) in one attempt, downloading nothing."""
    import torch, torchvision
    from melonpy import course
    from melonpy.cli import use_kit
    vgg = tmp_path/'vgg16_features.pth'
    torch.save(torchvision.models.vgg16().features.state_dict(), vgg)   # VGG16's shape (random weights: the test judges no picture)
    teacher = tmp_path/'teacher-torch'/'hub'/'checkpoints'; teacher.mkdir(parents=True)
    (teacher/'squeezenet1_1-b8a52dc0.pth').write_bytes(b'a checkpoint this machine has')
    env = melonpy_env(MELONPY_VGG16_WEIGHTS=vgg, TORCH_HOME=tmp_path/'teacher-torch')
    env.pop('MELONPY_SHARED', None)
    r = melonpy('kit', '--data', fake, '--out', tmp_path/'kit', env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'MELONPY_KIT=' in r.stdout and 'covers' in r.stdout, r.stdout
    kit = tmp_path/'kit'
    assert (kit/'weights'/'vgg16_features.pth').read_bytes() == vgg.read_bytes()
    assert (kit/'torch_home'/'hub'/'checkpoints'/'squeezenet1_1-b8a52dc0.pth').is_file() and (kit/'covers'/'charts.csv').is_file()
    # the class machine
    for k, v in _offline_env(tmp_path, MELONPY_KIT=kit).items(): monkeypatch.setenv(k, v)
    for k in ('MELONPY_SHARED', 'MELONPY_VGG16_WEIGHTS', 'MELONPY_DATA'): monkeypatch.delenv(k, raising=False)
    assert use_kit() == kit.resolve()
    settings = dict(eras='1990s,2000s', max_per_era=8, style_size=48, style_steps=4, style_covers=4, style_era_style='average', n_boot=100,
                    color_size=32, gradcam_per_era=1)   # the default routes, small (no ranking of covers: it downloads nothing either)
    assert course.run_downloads(course.course_settings(**settings)) == [] or all(d['have'] for d in course.run_downloads(course.course_settings(**settings)))
    book = course.run_course(tmp_path/'run', data=os.environ['MELONPY_DATA'], progress=False, **settings)
    assert list(book['stages']) == STAGES and (tmp_path/'run'/'report.html').is_file()
    report = (tmp_path/'run'/'report.html').read_text()   # the default style route, the era grade: its looks grid is in the report
    assert (tmp_path/'run'/'style'/'looks.png').is_file() and 'style/looks.png' in report
    assert not (tmp_path/'empty-torch-home').exists() or not any((tmp_path/'empty-torch-home').rglob('*.pth'))


def test_kit_scrapes_when_given_no_covers(tmp_path, monkeypatch):
    "Without --data, the kit scrapes (here chapter 1's practice Melon) into KIT/covers; weights it cannot download are one line that says where to make the kit; run again, it finishes."
    from melonpy.course import make_kit, kit_downloads
    from melonpy.core import UserError
    from melonpy.practice import PracticeMelon, practice_charts
    closed = 'http://127.0.0.1:9'
    for k in ('https_proxy', 'HTTPS_PROXY'): monkeypatch.setenv(k, closed)   # no internet for the weights; the practice site is on loopback
    for k in ('http_proxy', 'HTTP_PROXY', 'MELONPY_SHARED', 'MELONPY_VGG16_WEIGHTS'): monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path/'empty-torch-home'))
    with PracticeMelon(*practice_charts(range(1996, 1998), per_year=6, seed=3)) as melon:
        with pytest.raises(UserError, match='make the kit on a machine with internet'):
            make_kit(tmp_path/'kit', years='1996-1997', base_url=melon.url, delay=0, archs=(), progress=False)
        assert (tmp_path/'kit'/'covers'/'charts.csv').is_file()   # the covers came before the weights failed
        local = tmp_path/'vgg16_features.pth'; local.write_bytes(b'a local copy')
        monkeypatch.setenv('MELONPY_VGG16_WEIGHTS', str(local))   # the same command on a machine that has the weights
        kit = make_kit(tmp_path/'kit', years='1996-1997', base_url=melon.url, delay=0, archs=(), progress=False)
    assert kit['covers'] > 0 and len(kit['files']) == len(kit_downloads(archs=()))
    assert all((tmp_path/'kit'/f).is_file() for f in kit['files'])


def test_not_a_kit_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv('MELONPY_KIT', str(tmp_path/'nowhere'))
    one_line_error(melonpy_inproc('run', '--out', tmp_path/'run'), 'not a class kit', 'melonpy kit --out KIT')


def test_second_run_into_one_folder_stops_with_one_line(tmp_path):
    "While a `melonpy run` works in a folder, a second one into the same folder stops at once with one line (both did all the work)."
    from melonpy.scrape import folder_lock
    from runcli import melonpy_inproc, one_line_error
    from melonpy.splits import fake_scrape
    data = fake_scrape(tmp_path/'covers', n=16)
    (tmp_path/'run').mkdir()
    with folder_lock(tmp_path/'run', 'run'):   # the first run, holding its folder
        one_line_error(melonpy_inproc('run', '--data', data, '--eras', '1990s,2000s', '--out', tmp_path/'run'), 'another run is writing to')
    assert not (tmp_path/'run'/'stages.json').exists()
