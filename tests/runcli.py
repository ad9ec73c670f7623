"Helpers the test files share to run the `melonpy` command in the environment the tests use, and to check the CLI convention."
import contextlib, io, os, shutil, signal, subprocess, sys
from pathlib import Path
from melonpy.core import shared_dir

# the console script of the environment pytest runs in (tests the entry point too), else `python -m melonpy.cli`
_SCRIPT = shutil.which('melonpy', path=str(Path(sys.executable).parent))
COMMAND = [_SCRIPT] if _SCRIPT else [sys.executable, '-m', 'melonpy.cli']

def melonpy_env(**extra):
    "Environment for the commands the tests start: Agg plots, unbuffered output, the shared ImageNet weights when there are some; `extra` on top."
    env = dict(os.environ, MPLBACKEND='Agg', PYTHONUNBUFFERED='1')
    s = shared_dir()
    if s is not None and (s/'torch_home').is_dir(): env.setdefault('TORCH_HOME', str(s/'torch_home'))
    return {**env, **{k: str(v) for k, v in extra.items()}}

def interruptible():
    "`preexec_fn` for a child process a test will Ctrl-C: SIGINT back to its default, as a child started from a shell's background job (`nohup … &`) inherits it ignored and would never see the interrupt."
    signal.signal(signal.SIGINT, signal.SIG_DFL)

def melonpy(*args, check=None, timeout=300, env=None, **kw):
    "Run the real `melonpy` command with `args` in `env` (default `melonpy_env()`); assert its exit status is `check` if given; return the CompletedProcess."
    r = subprocess.run([*COMMAND, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                       env=melonpy_env() if env is None else env, **kw)
    if check is not None: assert r.returncode == check, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    return r

def melonpy_inproc(*args, stdout=False):
    "Run the `melonpy` command in this process (same code path, no start-up cost): (exit status, stderr), and its stdout third with `stdout`."
    from melonpy.cli import main
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try: code = main([str(a) for a in args])
        except SystemExit as e: code = e.code
    return (code, err.getvalue(), out.getvalue()) if stdout else (code, err.getvalue())

def one_line_error(result, *words, after_bars=False):
    "`result` (a CompletedProcess or `(status, stderr)`) is a user error: status 2, one line naming `words`, no traceback; returns that line. `after_bars`: progress bars may come first."
    code, err = (result.returncode, result.stderr) if hasattr(result, 'returncode') else result
    assert code == 2, (code, err[-2000:])
    assert 'Traceback' not in err, err
    shown = [l.split('\r')[-1].strip() for l in err.strip().splitlines()]   # what a terminal shows: a line after its last carriage return
    lines = [l for l in shown if l and '%|' not in l and 'reading covers' not in l]   # a progress bar may come first
    if after_bars: lines = [l for l in lines if 'error' in l]
    assert len(lines) == 1 and (not after_bars or err.strip().endswith(lines[0])), err
    for w in words: assert w in lines[0], (w, lines[0])
    return lines[0]

_PEAK = """import atexit, os, sys
def peak():   # VmHWM: the high-water mark of this process's own memory (ru_maxrss would count the parent's at fork)
    with open('/proc/self/status') as f: kb = next(l.split()[1] for l in f if l.startswith('VmHWM'))
    with open(os.environ['MELONPY_PEAK_FILE'], 'w') as f: f.write(kb)
atexit.register(peak)
from melonpy.cli import main
sys.exit(main(sys.argv[1:]))
"""

def melonpy_peak(*args, timeout=300):
    "Run the `melonpy` command with `args` in a process of its own and measure it: (CompletedProcess, its peak resident memory in MB)."
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([sys.executable, '-c', _PEAK, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                           env=melonpy_env(MELONPY_PEAK_FILE=Path(d)/'peak'))
        return r, int((Path(d)/'peak').read_text()) / 1024
