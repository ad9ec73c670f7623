"The front pages agree: README.md and nbs/index.ipynb give the same commands and chapters, and the docs sidebar lists every notebook in order."
import json, re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT/'README.md').read_text(encoding='utf-8')
INDEX = '\n'.join(''.join(c['source']) for c in json.loads((ROOT/'nbs'/'index.ipynb').read_text())['cells'] if c['cell_type'] == 'markdown')

def shell_blocks(md): return [b.strip() for b in re.findall(r'```sh\n(.*?)```', md, re.S)]
def chapters(md): return re.findall(r'^\| \[(\d\. [^\]]+)\]\(([^)]+)\)', md, re.M)
def links(md): return [l for l in re.findall(r'\]\(([^)#\s]+)\)', md) if not l.startswith(('http://', 'https://'))]

def test_same_commands():
    assert shell_blocks(README) and shell_blocks(README) == shell_blocks(INDEX)
    assert any('melonpy run --out run' in b for b in shell_blocks(README))
    assert any(b == './test.sh' for b in shell_blocks(README))

def test_same_chapters_in_order():
    r, i = chapters(README), chapters(INDEX)
    assert [n for n, _ in r] == [n for n, _ in i] and len(r) == 8
    assert [Path(l).name for _, l in r] == [l for _, l in i]
    assert [int(n.split('.')[0]) for n, _ in r] == list(range(1, 9))

def test_links_point_at_files():
    for l in links(README): assert (ROOT/l).exists(), f'README links to missing {l}'
    for l in links(INDEX): assert (ROOT/'nbs'/l).exists(), f'index.ipynb links to missing {l}'

def test_sidebar_lists_every_notebook_in_order():
    side = re.findall(r'- (\S+\.ipynb)', (ROOT/'nbs'/'sidebar.yml').read_text())
    nbs = sorted(p.name for p in (ROOT/'nbs').glob('*.ipynb'))
    assert sorted(side) == nbs
    chs = [s for s in side if re.match(r'0[1-8][a-z]?_', s)]   # chapters 1-8 and their lessons (4a, 4b ...), each lesson after its chapter
    assert chs == sorted(chs) and len([s for s in chs if re.match(r'\d\d_', s)]) == 8

def test_test_command_is_what_ci_runs():
    assert './test.sh' in (ROOT/'.ci'/'run').read_text()

def test_ci_runs_the_tests_without_the_shared_material():
    "CI runs again, without the shared material, the tests that take another path without it (issue 30): each one it names exists."
    ci = (ROOT/'.ci'/'run').read_text()
    block = ci[ci.index('env -u MELONPY_SHARED -u MELONPY_DATA'):].split('\necho', 1)[0]
    ids = re.findall(r'tests/[\w/.:]+', block)
    assert {'tests/test_explore_browser.py', 'tests/test_report_browser.py'} <= set(ids), ids
    for i in ids:
        f, _, name = i.partition('::')
        assert (ROOT/f).is_file(), i
        if name: assert re.search(rf'^def {name}\(', (ROOT/f).read_text(), re.M), f'{i}: no such test'

def test_gitignore_covers_what_the_examples_write():
    "What the examples of every `--help` write (`--out X`, `--csv X`, `> X`), run in a clone's root, is ignored by git: no stray outputs to commit."
    import shutil, subprocess
    import pytest
    from melonpy.cli import commands
    if shutil.which('git') is None or not (ROOT/'.git').exists(): pytest.skip('not a git checkout')
    outs = {m.group(1) for settings, _ in commands.values() for e in settings.examples
            for m in re.finditer(r'(?:--out|--csv|>)\s+([^\s>-]\S*)', e)}
    assert {'run', 'run-quick', 'covers', 'era.safetensors', 'predictions.csv'} <= outs, outs
    for o in sorted(outs):
        r = subprocess.run(['git', 'check-ignore', '-q', '--no-index', o + '/' if '.' not in o else o], cwd=ROOT)
        assert r.returncode == 0, f'{o}: a --help example writes it, and .gitignore does not ignore it'


# Chapters a class can follow (issue 31): about one definition per export cell, short cells, and every real-data figure on the page.
# A chapter is its notebooks: `04_models.ipynb` and its lessons `04a_...` to `04f_...` are chapter 4.
CELL_CHAPTERS = ['00', '01', '02', '03', '04', '05', '06', '07', '08', '09', '10']
NOT_YET = {}   # chapter: the reason it is not measured yet

def chapter_notebooks(ch): return sorted(p.stem for p in (ROOT/'nbs').glob(f'{ch}*.ipynb'))

def _cells(nb, kind='code'):
    return [''.join(c['source']) for c in json.loads((ROOT/'nbs'/f'{nb}.ipynb').read_text())['cells'] if c['cell_type'] == kind]

def export_cell_stats(nb):
    "Per export cell of notebook `nb` (import-only cells left out): its lines (not blank, not `#|`) and its top-level definitions (functions, classes, assigned names)."
    import ast
    out = []
    for s in _cells(nb):
        if not s.startswith('#| export'): continue
        body = ast.parse(s).body
        if all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in body): continue
        defs = sum(1 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else
                   len([t for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)])
                   if isinstance(n, (ast.Assign, ast.AnnAssign)) else 0 for n in body)
        out.append((len([l for l in s.splitlines() if l.strip() and not l.startswith('#|')]), defs))
    return out

def test_export_cells_are_lesson_sized():
    "In each listed chapter (all its notebooks) the median export cell is at most 12 lines and holds at most 1.5 definitions (fastai's course: 7 lines, one definition)."
    import statistics
    for ch in CELL_CHAPTERS:
        st = [x for nb in chapter_notebooks(ch) for x in export_cell_stats(nb)]
        assert st, f'chapter {ch}: no export cells'
        lines, defs = statistics.median(l for l, _ in st), statistics.median(d for _, d in st)
        assert lines <= 12 and defs <= 1.5, f'chapter {ch}: median export cell {lines} lines, {defs} definitions (at most 12 and 1.5)'

def test_export_cell_stats_can_fail(tmp_path, monkeypatch):
    "The measure sees a cell of several definitions as such."
    nb = {'cells': [{'cell_type': 'code', 'source': '#| export\nimport os'}, {'cell_type': 'code', 'source': '#| export\na = 1\ndef f(): pass\nclass C: pass'}]}
    (tmp_path/'nbs').mkdir(); (tmp_path/'nbs'/'x.ipynb').write_text(json.dumps(nb))
    monkeypatch.setattr(__import__(__name__), 'ROOT', tmp_path)
    assert export_cell_stats('x') == [(3, 3)]

def test_the_other_chapters_are_named():
    "Every chapter is measured or named with the reason it is not yet."
    chs = {p.stem[:2] for p in (ROOT/'nbs').glob('[0-9]*.ipynb')} - {'11'}   # 11: the benchmarks page, no code
    assert chs == set(CELL_CHAPTERS) | set(NOT_YET), chs ^ (set(CELL_CHAPTERS) | set(NOT_YET))

COVERS_LATER = {}
NO_OUTPUT = '# no saved output:'   # the marker a `#| covers` cell carries when its output is not kept, with the reason

def test_covers_cells_keep_their_output():
    "The docs site shows saved outputs only: every `#| covers` cell (real-data figures and tables) has a saved output, or says why not."
    missing = []
    for p in sorted((ROOT/'nbs').glob('[0-9]*.ipynb')):
        if p.stem[:2] in NOT_YET or p.stem in COVERS_LATER: continue
        for c in json.loads(p.read_text())['cells']:
            s = ''.join(c['source'])
            if c['cell_type'] != 'code' or not s.startswith('#| covers'): continue
            if NO_OUTPUT in s and c.get('outputs'): missing.append(f'{p.stem}: says it keeps no output, and keeps one: {s.splitlines()[1][:60]}')
            elif NO_OUTPUT not in s and not c.get('outputs'): missing.append(f'{p.stem}: {s.splitlines()[1][:60] if len(s.splitlines()) > 1 else s}')
    assert not missing, 'covers cells without a saved output or a reason (or with both):\n' + '\n'.join(missing)


def _environment_in_outputs(nb_text: str) -> bool:
    "Whether a notebook's saved outputs show a process environment (a default of `os.environ` rendered by show_doc, a printed env)."
    outs = json.dumps([c.get('outputs', []) for c in json.loads(nb_text)['cells']])
    return 'environ({' in outs or "'HOME': '/" in outs


def test_saved_outputs_do_not_show_the_environment():
    "The docs site shows saved outputs: none may show the environment of the machine that ran the notebook (paths, container names, tokens)."
    leaks = [p.name for p in sorted(Path('nbs').glob('*.ipynb')) if _environment_in_outputs(p.read_text(encoding='utf-8'))]
    assert not leaks, leaks
    leaked = json.dumps({'cells': [{'outputs': [{'data': {'text/markdown': "def use_kit(environ:os._Environ=environ({'HOME': '/root'}))"}}]}]})
    assert _environment_in_outputs(leaked)   # the check sees the leak it is for
