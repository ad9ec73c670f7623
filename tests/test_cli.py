"The one CLI convention, for what the chapter tests do not cover: Ctrl-C before a command has started its work."
import signal, subprocess, time
import pytest
from cli import COMMAND, melonpy_inproc, one_line_error

def test_ctrl_c_while_importing_is_one_line():
    "Importing torch and fastai takes seconds; Ctrl-C then gives exit status 130 and one line, not a traceback."
    p = subprocess.Popen([*COMMAND, 'train', '--help'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)   # `melonpy.cli` itself imports in ~0.1 s; `melonpy.models` (fastai, torch) takes several seconds
    if p.poll() is not None: pytest.skip('melonpy.models imported in under 1.5 s here: no time to interrupt it')
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, (p.returncode, err)
    assert 'Traceback' not in err and 'interrupted' in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert 'usage' not in out   # interrupted before --help printed anything


@pytest.mark.parametrize('args', [['train', 'covers', '--out', 'm.pkl'], ['predict', 'm.pkl', 'a.jpg'], ['tune', 'covers', '--out', 't.csv'],
                                  ['stylize', 'a.jpg', '--era', '1990s', '--out', 'o.png'], ['run', '--out', 'run']])
def test_threads_checked_for_every_command(args, tmp_path, monkeypatch):
    "Each command that runs a network takes --threads, and the command line checks it before any work."
    monkeypatch.chdir(tmp_path)
    one_line_error(melonpy_inproc(*args, '--threads', '0'), '--threads 0', 'between 1 and 256')
    assert not list(tmp_path.iterdir())   # nothing was started
