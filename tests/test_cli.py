"The one CLI convention, for what the chapter tests do not cover: Ctrl-C before a command has started its work."
import re, signal, subprocess, sys, time
import pytest
from runcli import COMMAND, interruptible, melonpy_inproc, one_line_error

def test_ctrl_c_while_importing_is_one_line(tmp_path):
    "Importing torch and fastai takes seconds; Ctrl-C then gives exit status 130 and one line, not a traceback."
    (tmp_path/'m.safetensors').write_text('a model file, as far as the command line can tell'); (tmp_path/'a.png').write_text('an image')
    p = subprocess.Popen([*COMMAND, 'predict', tmp_path/'m.safetensors', tmp_path/'a.png'], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, preexec_fn=interruptible)
    time.sleep(1.5)   # `melonpy.cli` itself imports in ~0.1 s; `melonpy.commands` (fastai, torch) takes several seconds
    if p.poll() is not None: pytest.skip('melonpy.commands imported in under 1.5 s here: no time to interrupt it')
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, (p.returncode, err)
    assert 'Traceback' not in err and 'interrupted' in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert not out   # interrupted before predicting anything


def test_ctrl_c_inside_a_string_exec_is_status_130(tmp_path):
    "A Ctrl-C that lands inside a library's string `exec` (dataclasses, named tuples) still ends in status 130 under `python -m`, not in death by SIGINT."
    (tmp_path/'boom_cmd.py').write_text("def boom_main(s): exec('raise KeyboardInterrupt')\n")
    (tmp_path/'boom_cli.py').write_text("import sys, dataclasses, typing, melonpy.cli as cli, melonpy.settings as st\n"
                                        "@dataclasses.dataclass(kw_only=True)\n"
                                        "class BoomSettings(st.Settings):\n"
                                        "    'a command interrupted inside a string exec'\n"
                                        "    examples: typing.ClassVar[tuple] = ('melonpy boom',)\n"
                                        "cli.commands['boom'] = (BoomSettings, 'boom_cmd:boom_main')\n"
                                        "sys.exit(cli.main(['boom']))\n")
    r = subprocess.run([sys.executable, '-m', 'boom_cli'], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 130, (r.returncode, r.stderr)   # -2 (killed by SIGINT) without `_forget_interrupt`
    assert r.stderr.strip().splitlines() == ['melonpy boom: interrupted; finished work is saved, run the same command again to resume'], r.stderr


@pytest.mark.parametrize('args', [['train', 'covers', '--out', 'm.safetensors'], ['predict', 'm.safetensors', 'a.jpg'], ['tune', 'covers', '--out', 't.csv'],
                                  ['stylize', 'a.jpg', '--era', '1990s', '--out', 'o.png'], ['run', '--out', 'run']])
def test_threads_checked_for_every_command(args, tmp_path, monkeypatch):
    "Each command that runs a network takes --threads, and the command line checks it before any work."
    monkeypatch.chdir(tmp_path)
    one_line_error(melonpy_inproc(*args, '--threads', '0'), '--threads', 'out of range: give 1 to 256')
    assert not list(tmp_path.iterdir())   # nothing was started


ERAS_COMMANDS = {   # every command with --eras, and the rest of a command line that parses
    'dataset': ['covers', '--out', 'x.npz'], 'analyze': ['covers', '--out', 'rep'], 'train': ['covers', '--out', 'm.safetensors'],
    'tune': ['covers', '--out', 't.csv'], 'run': ['--out', 'run'],
}


@pytest.mark.parametrize('name', ERAS_COMMANDS)
@pytest.mark.parametrize('eras', [['1990s', '2000s'], ['1990s,2000s'], ['1990s,', '2000s']])
def test_eras_mean_the_same_everywhere(name, eras):
    "`--eras 1990s 2000s` and `--eras 1990s,2000s` are accepted by every command that has the flag, and read the same."
    from melonpy.cli import command_parser
    from melonpy.data import era_list
    a = command_parser(name).parse_args([*ERAS_COMMANDS[name], '--eras', *eras])
    assert era_list(a.eras) == ['1990s', '2000s']


@pytest.mark.parametrize('name', ERAS_COMMANDS)
def test_eras_all_everywhere(name):
    "`--eras all` is accepted by every command with the flag (each reads it with `read_covers`, which resolves it), and its help says so."
    from melonpy.cli import command_parser
    from melonpy.data import era_list
    assert era_list(command_parser(name).parse_args([*ERAS_COMMANDS[name], '--eras', 'all']).eras, at_least_two=True) == ['all']
    assert 'all: every era with at least 20' in ' '.join(command_parser(name).format_help().split())
    from melonpy import core, data
    assert data.read_covers.__defaults__[-1] == core.min_era_covers   # the help says what read_covers does


def test_bad_test_sources_before_heavy_imports(tmp_path):
    "A wrong --test-sources name is found from metadata.csv by the command line itself: no pandas, no PyTorch loaded."
    (tmp_path/'metadata.csv').write_text('file,year,source\na.jpg,1995,rock\n')
    code = ("import sys\nfrom melonpy.cli import main\ntry: main(['train', sys.argv[1], '--test-sources', 'pop', '--out', 'm.safetensors'])\n"
            "except SystemExit as e: print(e.code, 'torch' in sys.modules, 'pandas' in sys.modules)")
    r = subprocess.run([sys.executable, '-c', code, str(tmp_path)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.stdout.split() == ['2', 'False', 'False'], (r.stdout, r.stderr)
    assert r.stderr.strip().splitlines() == [f'melonpy train: error: --test-sources pop: not a source of {tmp_path}; choose among rock'], r.stderr


@pytest.mark.parametrize('name', ['scrape', 'dataset', 'analyze', 'train', 'predict', 'tune', 'stylize', 'run', 'kit'])
def test_every_help_ends_with_examples(name):
    from melonpy.cli import command_parser, commands
    h = command_parser(name).format_help()
    tail = [re.sub(r'^([A-Z_]+=\S+ )+', '', l.strip()) for l in h[h.index('examples:'):].strip().splitlines()[1:]]   # an example may set a variable first
    assert tail and all(l.startswith(f'melonpy {name} ') for l in tail) and len(tail) == len(commands[name][0].examples)


def test_quick_help_says_the_measured_time():
    "`melonpy run --help` gives --quick's time as bench/quick_run.py last measured it (bench/results/quick_run.json), within the goal."
    import json
    from pathlib import Path
    from melonpy.cli import command_parser
    res = json.loads((Path(__file__).parent.parent/'bench'/'results'/'quick_run.json').read_text())
    h = ' '.join(command_parser('run').format_help().split())
    assert f"measured at {res['wall_s']:.0f} s from an empty cache on a {res['cpus']}-core CPU" in h, h
    assert res['within_goal'] and res['wall_s'] <= res['goal_s'] <= 120 and res['cache'] == 'empty'


BAD = [   # (command line, words the one line must hold): what users and attackers typed, each once a traceback
    (['dataset', '{covers}', '--seed', '-1', '--out', 'x.npz'], ['--seed', 'out of range']),
    (['train', '{covers}', '--seed', '-1', '--out', 'm.safetensors'], ['--seed', 'out of range']),
    (['train', '{covers}', '--max-per-era', '-5', '--out', 'm.safetensors'], ['--max-per-era', 'out of range']),
    (['tune', '{covers}', '--sizes', '0', '--out', 't.csv'], ['--sizes', 'out of range']),
    (['tune', '{covers}', '--sizes', ',', '--out', 't.csv'], ['--sizes', 'at least one size']),
    (['run', '--max-per-era', '-5', '--out', 'r'], ['--max-per-era']),
    (['stylize', '{img}', '--style', '{img}', '--steps', '0', '--out', 'o.png'], ['--steps']),
    (['stylize', '{img}', '--style', '{img}', '--style-weight', '0', '--out', 'o.png'], ['--style-weight', 'more than 0']),
    (['analyze', '{covers}', '--boot', '5', '--out', 'rep'], ['--boot']),
    (['scrape', '--delay', '-1', '--out', 'x'], ['--delay']),
    (['scrape', '--base-url', 'file:///etc', '--out', 'x'], ['--base-url', 'http']),
    (['train', '{covers}', '--arch', 'vgg16', '--weights', '{garbage}', '--out', 'm.safetensors', '--eras', '1990s,2000s', '--bs', '2'], ['not a state dict']),
    (['stylize', '{img}', '--style', '{img}', '--weights', '{garbage}', '--out', 'o.png'], ['not a state dict']),
    (['predict', '{junk}', '{img}'], ['not a model saved by']),
    (['predict', '{garbage}', '{img}'], ['pickle', '--trust-pickle']),
    (['train', '{covers}', '--out', 'm.pkl'], ['not pickles']),
    (['train', '{covers}', '--eras', '1990s,2000s', '--out', 'm.safetensors'], ['fewer than the batch size 32', '--bs']),
    (['train', '{covers}', '--epochs', '0', '--freeze-epochs', '0', '--out', 'm.safetensors'], ['at least 1 epoch']),
    (['train', '{covers}', '--head', 'year', '--arch', 'cnn', '--eras', '1990s,2000s', '--out', 'm.safetensors'], ['--head year', 'linear']),
    (['train', '{covers}', '--arch', 'nsfw_linear', '--no-pretrained', '--eras', '1990s,2000s', '--out', 'm.safetensors'], ['--no-pretrained', 'come with melonpy']),
    (['train', '{covers}', '--arch', 'nsfw_linear', '--approx-weight', '2', '--eras', '1990s,2000s', '--out', 'm.safetensors'], ['--approx-weight', 'out of range']),
    (['train', '{covers}', '--eras', 'all', '1990s', '--out', 'm.safetensors'], ['--eras all,1990s', 'give it alone']),
    (['dataset', '{covers}', '--eras', 'ALL,2000s', '--out', 'x.npz'], ['give it alone']),
    (['dataset', '{covers}', '--eras', 'all', '--out', 'x.npz'], ['--eras all', 'no era of', '20 covers or more']),
    (['train', '{covers}', '--test-sources', 'gaon', '--out', 'm.safetensors'], ['--test-sources', 'no metadata.csv']),
    (['train', '{sourced}', '--test-sources', 'gaon', '--out', 'm.safetensors'], ['--test-sources gaon', 'choose among kpop, rock']),
    (['train', '{sourced}', '--test-sources', 'rock,kpop', '--out', 'm.safetensors'], ['every source']),
    (['train', '{sourced}', '--test-sources', ',', '--out', 'm.safetensors'], ['--test-sources (none)']),
]


@pytest.mark.parametrize('args, words', BAD, ids=[' '.join(a[:1] + a[2:4]) for a, _ in BAD])
def test_bad_input_one_line(args, words, tmp_path, monkeypatch):
    "Each bad input is exit status 2 and one line naming the problem: no traceback, nothing written."
    from melonpy.splits import fake_scrape
    from PIL import Image
    monkeypatch.chdir(tmp_path)
    covers = fake_scrape(tmp_path/'covers', n=16)
    Image.new('RGB', (64, 64), 'red').save(tmp_path/'a.png')
    (tmp_path/'garbage.pth').write_bytes(b'\x80\x04garbage')
    (tmp_path/'junk.safetensors').write_text('not a model')
    (tmp_path/'sourced').mkdir()
    (tmp_path/'sourced'/'metadata.csv').write_text('file,year,source\na.jpg,1995,rock\nb.jpg,2015,kpop\n')
    subs = dict(covers=covers, img=tmp_path/'a.png', garbage=tmp_path/'garbage.pth', junk=tmp_path/'junk.safetensors', sourced=tmp_path/'sourced')
    before = set(tmp_path.rglob('*'))
    one_line_error(melonpy_inproc(*[a.format(**subs) for a in args]), *words)
    assert not [p for p in set(tmp_path.rglob('*')) - before if p.suffix in ('.npz', '.safetensors', '.csv', '.png') and 'cache' not in str(p)]
