"""What users read holds no developer-only words: the `--help` of every command, the one-line errors the library raises,
the reasons pytest gives for a skip, and the notebooks' prose. The project's shared test material (`$MELONPY_SHARED`,
`../shared`) and its CI script (`.ci/run`) exist on the developers' machines only; and a term the chapters lean on, the
seed study, is introduced once, in the index."""
import ast, contextlib, io, json, re
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
DEV = re.compile(r'MELONPY_SHARED|\.ci/run|\.\./shared|\bshared (copy|collection|weights|folder|material)', re.I)


def _strings(node):
    "The literal text of string node `node` (the constant parts of an f-string), or ''."
    if isinstance(node, ast.Constant) and isinstance(node.value, str): return node.value
    if isinstance(node, ast.JoinedStr): return ''.join(_strings(v) for v in node.values)
    if isinstance(node, ast.BinOp): return _strings(node.left) + _strings(node.right)
    return ''


def _calls(path, names):
    "(line, text) of the string arguments of each call to one of `names` (a function's or method's name) in Python file `path`."
    out = []
    for n in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(n, ast.Call) and getattr(n.func, 'attr', getattr(n.func, 'id', None)) in names:
            text = ' '.join(_strings(a) for a in [*n.args, *(k.value for k in n.keywords if k.arg in (None, 'reason', 'msg'))])
            out.append((n.lineno, text))
    return out


def test_dev_words_are_caught():
    "The pattern catches what issue 30 found, so the tests below can fail."
    for s in ('(default: the shared copy, else a download)', '(or MELONPY_SHARED to the project\'s shared folder)',
              'MELONPY_SHARED is not set; .ci/run sets it', 'melonpy train ../shared/data/covers'):
        assert DEV.search(s), s
    assert _strings(ast.parse("f'a {x} .ci/run' + 'b'", mode='eval').body) == 'a  .ci/runb'


@pytest.mark.parametrize('name', [None, 'scrape', 'dataset', 'analyze', 'train', 'predict', 'tune', 'stylize', 'run'])
def test_help_has_no_developer_words(name):
    from melonpy.cli import command_parser, main
    if name is None:
        out = io.StringIO()
        with contextlib.redirect_stdout(out): assert main(['--help']) == 0
        h = out.getvalue()
    else: h = command_parser(name).format_help()
    h = ' '.join(h.split())
    assert 'usage:' in h
    found = [m.group(0) for m in DEV.finditer(h)] + re.findall(r'\bshared\b', h, re.I)
    assert not found, (name, found)


def test_user_errors_have_no_developer_words():
    "Every `UserError(...)` message in the library (what a user sees after `melonpy CMD: error:`)."
    bad = [(p.name, l, t) for p in sorted((ROOT/'melonpy').glob('*.py')) for l, t in _calls(p, {'UserError'}) if DEV.search(t)]
    assert not bad, bad
    assert sum(len(_calls(p, {'UserError'})) for p in (ROOT/'melonpy').glob('*.py')) > 50   # the scan sees the errors


def test_skip_reasons_have_no_developer_words():
    "What `pytest -ra` prints for each skipped test: no script only the developers have (.ci/run), no path of their machines."
    calls = [(p.name, l, t) for p in sorted((ROOT/'tests').glob('*.py')) for l, t in _calls(p, {'skip', 'skipif', 'importorskip'})]
    assert len(calls) >= 5 and any('MELONPY_SHARED' in t for *_, t in calls)   # the scan sees the skips (naming the variable is fine)
    bad = [c for c in calls if re.search(r'\.ci/run|\.\./shared', c[2])]
    assert not bad, bad


def _markdown(nb):
    return '\n'.join(''.join(c['source']) for c in json.loads(nb.read_text(encoding='utf-8'))['cells'] if c['cell_type'] == 'markdown')


def test_notebooks_prose():
    "No chapter sends a reader to the CI script; the seed study, which the chapters build on, is introduced in the index, before any chapter names it."
    prose = {nb.name: _markdown(nb) for nb in sorted((ROOT/'nbs').glob('*.ipynb'))}
    assert len(prose) >= 10
    assert not [n for n, md in prose.items() if '.ci/run' in md]
    index = prose['index.ipynb']
    assert re.search(r'retells a \*seed study\*, a student project', index), 'the index must introduce the seed study'
    assert 'original\nstudy' in index or 'original study' in index   # chapter 4's name for it, introduced too
    users = [n for n, md in prose.items() if n != 'index.ipynb' and re.search(r'(seed|original)\s+study', md)]
    assert len(users) >= 4, users
