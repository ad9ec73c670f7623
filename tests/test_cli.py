"The one CLI convention, for what the chapter tests do not cover: Ctrl-C before a command has started its work."
import signal, subprocess, sys, time
import pytest
from cli import COMMAND, interruptible, melonpy_inproc, one_line_error

def test_ctrl_c_while_importing_is_one_line():
    "Importing torch and fastai takes seconds; Ctrl-C then gives exit status 130 and one line, not a traceback."
    p = subprocess.Popen([*COMMAND, 'train', '--help'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=interruptible)
    time.sleep(1.5)   # `melonpy.cli` itself imports in ~0.1 s; `melonpy.models` (fastai, torch) takes several seconds
    if p.poll() is not None: pytest.skip('melonpy.models imported in under 1.5 s here: no time to interrupt it')
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, (p.returncode, err)
    assert 'Traceback' not in err and 'interrupted' in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert 'usage' not in out   # interrupted before --help printed anything


def test_ctrl_c_inside_a_string_exec_is_status_130(tmp_path):
    "A Ctrl-C that lands inside a library's string `exec` (dataclasses, named tuples) still ends in status 130 under `python -m`, not in death by SIGINT."
    (tmp_path/'boom_cmd.py').write_text("def boom_args(p): pass\ndef boom_main(a): exec('raise KeyboardInterrupt')\n")
    (tmp_path/'boom_cli.py').write_text("import sys, melonpy.cli as cli\n"
                                        "cli.commands['boom'] = ('boom_cmd', 'a command interrupted inside a string exec')\n"
                                        "sys.exit(cli.main(['boom']))\n")
    r = subprocess.run([sys.executable, '-m', 'boom_cli'], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 130, (r.returncode, r.stderr)   # -2 (killed by SIGINT) without `_forget_interrupt`
    assert r.stderr.strip().splitlines() == ['melonpy boom: interrupted; finished work is saved, run the same command again to resume'], r.stderr


@pytest.mark.parametrize('args', [['train', 'covers', '--out', 'm.safetensors'], ['predict', 'm.safetensors', 'a.jpg'], ['tune', 'covers', '--out', 't.csv'],
                                  ['stylize', 'a.jpg', '--era', '1990s', '--out', 'o.png'], ['run', '--out', 'run']])
def test_threads_checked_for_every_command(args, tmp_path, monkeypatch):
    "Each command that runs a network takes --threads, and the command line checks it before any work."
    monkeypatch.chdir(tmp_path)
    one_line_error(melonpy_inproc(*args, '--threads', '0'), '--threads 0', 'between 1 and 256')
    assert not list(tmp_path.iterdir())   # nothing was started
