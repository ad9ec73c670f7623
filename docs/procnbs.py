"Process the notebooks with nbdev's own processors, as `nbdev-proc-nbs` does, into notebooks MyST-NB can render."
import ast, importlib, json, re
from pathlib import Path
from execnb.shell import CaptureShell
from nbdev.processors import FilterDefaults, exec_show_docs, _show_docs, nb_lang
from nbdev.process import Processor
from nbdev.config import get_config
from fastcore.nbio import read_nb, write_nb

def default_exp(nb):
    "The module a processed notebook exports to (its `#| default_exp`), or None."
    for c in nb.cells:
        v = c.directives_.get('default_exp') if c.cell_type == 'code' else None
        if v: return (v if isinstance(v, str) else ' '.join(v)).split()[0]

class exec_show_docs_only(Processor):
    """nbdev's `exec_show_docs`, without running the chapter: the names come from the exported module, and only
    `show_doc` and plain import cells run (nbdev also runs cells that mix imports with other code: here, tests and training)."""
    def begin(self):
        self.k = None
        if nb_lang(self.nb) != 'python' or not self.nb.has_docs_: return
        self.k = CaptureShell()
        self.k.run_cell('from nbdev.showdoc import show_doc')
        if (mod := default_exp(self.nb)):
            m = importlib.import_module(f'{get_config().lib_name}.{mod}')
            names = {k: v for k, v in vars(m).items() if not k.startswith('__')}
            self.k.user_ns.update(names); self.k.user_global_ns.update(names)

    def __call__(self, cell):
        if self.k is None or cell.cell_type != 'code' or not cell.source: return
        try: trees = ast.parse(cell.source).body
        except SyntaxError: return
        if not trees: return
        imports = all(isinstance(t, (ast.Import, ast.ImportFrom)) for t in trees)
        docs = len(_show_docs(trees)) == len(trees)
        if not (imports or docs): return
        self.k.cell(cell)
        if (e := self.k.exc): raise Exception(f'docs: cell {cell.idx_} failed:\n{cell.source}\n{type(e).__name__}: {e}') from e

class DocProcs(FilterDefaults):
    "nbdev's docs processors, with `exec_show_docs` replaced by `exec_show_docs_only` (same place in the list)."
    def base_procs(self): return [exec_show_docs_only if p is exec_show_docs else p for p in super().base_procs()]

def proc_nb(src, dst):
    "Process notebook `src` with nbdev's docs processors and write it to `dst`."
    nb = read_nb(src)
    DocProcs()(nb)
    write_nb(nb, dst)
    return dst

if __name__ == '__main__':
    import sys
    proc_nb(Path(sys.argv[1]), Path(sys.argv[2]))
