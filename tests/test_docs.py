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
    chs = [s for s in side if s[:2].isdigit() and 1 <= int(s[:2]) <= 8]
    assert chs == sorted(chs) and len({s[:2] for s in chs}) == 8   # eight chapters, some in several notebooks (07a_...)

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
    outs = {m.group(1) for _, _, examples in commands.values() for e in examples
            for m in re.finditer(r'(?:--out|--csv|>)\s+([^\s>-]\S*)', e)}
    assert {'run', 'run-quick', 'covers', 'era.safetensors', 'predictions.csv'} <= outs, outs
    for o in sorted(outs):
        r = subprocess.run(['git', 'check-ignore', '-q', '--no-index', o + '/' if '.' not in o else o], cwd=ROOT)
        assert r.returncode == 0, f'{o}: a --help example writes it, and .gitignore does not ignore it'
