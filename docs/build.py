"""Build the docs site into `_site/` (run `./docs.sh`): nbdev processes the notebooks (`docs/procnbs.py`), this
script adds the pages made from the code (API per module, CLI, benchmarks), and Sphinx with MyST-NB renders it all
with the notebooks' saved outputs. Nothing is hard-coded: chapters come from `nbs/*.ipynb` (in `nbs/sidebar.yml`'s
order and sections), modules from `melonpy/_modidx.py`, commands from `melonpy.cli.commands`."""
import time
T0 = time.perf_counter()   # the build time printed at the end counts the imports too
import argparse, ast, contextlib, importlib, io, json, os, re, shutil, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS, BENCH, DOCS = ROOT/'nbs', ROOT/'bench', ROOT/'docs'
LIB = 'melonpy'

def nb_page(nb_name):
    "The page nbdev gives notebook `nb_name` (`04_models.ipynb` -> `models`), which links from `show_doc` use."
    return re.sub(r'^\d+_', '', Path(nb_name).stem)

def notebooks():
    "Every notebook of `nbs/` (not hidden, not `_`-prefixed), sorted by name."
    return sorted(p.name for p in NBS.glob('*.ipynb') if not p.name.startswith(('_', '.')))

def sidebar():
    """`[(caption, [notebook, ...]), ...]`: the sections of `nbs/sidebar.yml` (Quarto's sidebar, kept for `nbdev-docs`),
    without `index.ipynb`; notebooks it does not list go, sorted, to the section of their neighbours (else 'Chapters')."""
    import yaml
    nbs, secs = notebooks(), []
    try: contents = yaml.safe_load((NBS/'sidebar.yml').read_text())['website']['sidebar']['contents']
    except Exception: contents = []
    for item in contents:
        if isinstance(item, dict) and 'section' in item:
            secs.append((item['section'], [n for n in item.get('contents', []) if isinstance(n, str) and n in nbs]))
    listed = {n for _, ns in secs for n in ns}
    extra = [n for n in nbs if n not in listed and n != 'index.ipynb']
    if not secs: secs = [('Chapters', [])]
    for n in extra:   # a new notebook: into the section whose notebooks sort just before it
        sec = max((s for s in secs if s[1] and min(s[1]) < n), key=lambda s: max(x for x in s[1] if x < n), default=secs[0])
        sec[1].append(n); sec[1].sort()
    return secs

def nb_module(n):
    "The module notebook `n` exports to (its `#| default_exp`), or None."
    src = '\n'.join(''.join(c['source']) for c in json.loads((NBS/n).read_text())['cells'] if c['cell_type'] == 'code')
    m = re.search(r'^\s*#\|\s*default_exp\s+(\S+)', src, re.M)
    return f'{LIB}.{m.group(1)}' if m else None

def modules():
    "`{module: notebook}` for every module in `melonpy/_modidx.py`, in the order of the notebooks that export them."
    from melonpy._modidx import d
    mods, owner = list(d['syms']), {}
    for n in notebooks():
        if (m := nb_module(n)) in mods: owner.setdefault(m, n)
    return {m: owner.get(m) for m in sorted(mods, key=lambda m: (owner.get(m) or '~', m))}

# ---------------------------------------------------------------- notebooks -> MyST-NB notebooks

def _symbol_links():
    "`{nbdev doc url: symbol}` from `_modidx` (the links nbdev's `add_links` writes), and the symbols the API pages show."
    from melonpy._modidx import d
    s = d['settings']
    base = s['doc_host'].rstrip('/') + '/' + s['doc_baseurl'].strip('/') + '/'
    urls = {base + page: sym for syms in d['syms'].values() for sym, (page, _) in syms.items()}
    shown = set()
    for m in d['syms']:
        mod = importlib.import_module(m)
        for n in getattr(mod, '__all__', []):
            shown.add(f'{m}.{n}')
            if isinstance(getattr(mod, n, None), type): shown |= {f'{m}.{n}.{a}' for a in vars(getattr(mod, n)) if not a.startswith('_')}
    return base, urls, shown

_re_link = re.compile(r'\[([^\]\n]*)\]\((https?://[^)\s]+)\)')

def fix_links(md, base, urls, shown, pages):
    """nbdev's links to its own (Quarto) site become links in this site: to the API entry when the API pages show the
    name, else to the chapter page, else plain text."""
    def sub(m):
        text, url = m.groups()
        if not url.startswith(base): return m.group(0)
        sym = urls.get(url)
        if sym in shown: return '{py:obj}`' + text.strip('`').replace('<', r'\<') + ' <' + sym + '>`'
        page = url[len(base):].split('#')[0].removesuffix('.html').removesuffix('.md')
        return f'[{text}]({pages[page]})' if page in pages else text
    return _re_link.sub(sub, md)

_re_src = re.compile(r'\[source\]\(([^)#\s]+)(?:#L\w*)?\)(?:\{[^}\n]*\})?(\s*#+\s+([\w.]+))?')

def fix_source_link(md, mod):
    """`show_doc`'s `[source](url){target=...}` (Quarto's attribute syntax) as an HTML link, with the line of the name
    that follows it when `mod` has it (nbdev writes `#LNone` when it does not know)."""
    def sub(m):
        url, rest, name = m.group(1), m.group(2) or '', m.group(3)
        line = None
        if mod and name:
            import inspect
            obj = importlib.import_module(mod)
            try:
                for a in name.split('.'): obj = getattr(obj, a)
                line = inspect.getsourcelines(inspect.unwrap(obj))[1]
            except (AttributeError, TypeError, OSError): pass
        return f'<a class="showdoc-source" href="{url}{f"#L{line}" if line else ""}" target="_blank">source</a>' + rest
    return _re_src.sub(sub, md)

def mermaid_pictures(md):
    """Each ```mermaid block as its picture drawn by `docs/render_mermaid.py` (the site loads no JavaScript from
    outside); a block without one stays as text, and the build says how to draw it."""
    from render_mermaid import _re_block, diagram_id
    def sub(m):
        k = diagram_id(m.group(1))
        labels = [re.sub(r'<br\s*/?>', ' ', l) for l in re.findall(r'\[([^\]]+)\]', m.group(1))]
        alt = 'Diagram: ' + ', '.join(dict.fromkeys(labels)) if labels else 'Diagram'
        if (NBS/'images'/'mermaid'/f'{k}.svg').exists(): return f'![{alt}](images/mermaid/{k}.svg)\n'
        print(f'docs: a Mermaid diagram has no picture yet (shown as text): run `python docs/render_mermaid.py --js ...`', flush=True)
        return m.group(0)
    return _re_block.sub(sub, md)

_re_dir = re.compile(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')

def to_myst(nb, fix, mod=None):
    """A notebook processed by nbdev, made ready for MyST-NB: Quarto's cell options become tags, the front matter a
    title; `mod` is the module it exports to."""
    cells = []
    for c in nb['cells']:
        src = c.get('source', '')
        src = ''.join(src) if isinstance(src, list) else src
        if c['cell_type'] == 'raw' and src.startswith('---'):
            import yaml
            fm = yaml.safe_load(src.strip().strip('-')) or {}
            head = f"# {fm.get('title', '')}\n" + (f"\n> {fm['description']}\n" if fm.get('description') else '')
            cells.append({'cell_type': 'markdown', 'id': 'docs-title', 'metadata': {}, 'source': head})
            continue
        if c['cell_type'] == 'markdown':
            c['source'] = mermaid_pictures(fix(src)); cells.append(c); continue
        if c['cell_type'] != 'code': continue
        lines, opts = src.split('\n'), {}
        while lines and (m := _re_dir.match(lines[0])): opts[m.group(1)] = m.group(2).strip('"\''); lines.pop(0)
        if opts.get('include') == 'false' or 'hide' in opts: continue
        c['source'] = '\n'.join(lines).strip('\n')
        tags = set(c.setdefault('metadata', {}).get('tags', []))
        if opts.get('echo') == 'false' or not c['source']: tags.add('remove-input')
        if opts.get('output') == 'false': tags.add('remove-output')
        if 'code-fold' in opts: tags.add('hide-input')
        c['metadata'] = {'tags': sorted(tags)} if tags else {}
        for o in c.get('outputs', []):
            md = o.get('data', {}).get('text/markdown')
            if md is not None:   # show_doc's `---` rule: a transition docutils refuses inside an output
                md = re.sub(r'^---\s*$', '<hr class="showdoc-rule">', ''.join(md) if isinstance(md, list) else md, flags=re.M)
                o['data']['text/markdown'] = fix_source_link(fix(md), mod)
        if not c['source'] and not c.get('outputs'): continue
        cells.append(c)
    for i, c in enumerate(cells): c.setdefault('id', f'docs-{i}')   # cells nbdev added (show_doc) have none
    nb['cells'] = cells
    nb['metadata'] = {'kernelspec': {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'},
                      'language_info': {'name': 'python'}}   # no widget state: it would load its JS from a CDN
    return nb

def toctree(caption, entries):
    return '\n'.join(['```{toctree}', ':hidden:', ':titlesonly:', f':caption: {caption}', ''] + entries + ['```', ''])

# ---------------------------------------------------------------- pages made from the code

def api_entry(mod, name, obj):
    "The reST that documents `mod.name`: autodoc for classes and functions, the type for other values (constants)."
    import inspect
    if inspect.isclass(obj):
        bases = '   :show-inheritance:\n' if obj.__bases__ != (object,) else ''   # "Bases: object" says nothing
        return f'.. autoclass:: {mod}.{name}\n   :members:\n   :undoc-members:\n{bases}'
    if callable(obj): return f'.. autofunction:: {mod}.{name}\n'
    v = repr(obj)
    v = v if len(v) <= 120 and '\n' not in v else f'<{type(obj).__name__} of {len(obj)}>' if hasattr(obj, '__len__') else f'<{type(obj).__name__}>'
    return f'.. py:data:: {name}\n   :module: {mod}\n   :type: {type(obj).__name__}\n   :value: {v}\n\n   A constant of the module: the chapter shows what it holds and why.\n'

def api_page(mod, nb, title):
    "An API page: every name of `mod.__all__`, in that order, with its signature and docstring."
    m = importlib.import_module(mod)
    names = list(getattr(m, '__all__', []))
    doc = (m.__doc__ or '').split('\n\nDocs:')[0].strip()
    intro = f'The public names of `{mod}` (its `__all__`: {len(names)}), with their signatures and docstrings.'
    if nb: intro += f' The chapter that explains them, with examples: [{title}](../{nb}).'
    rst = [f'.. py:module:: {mod}', ''] + [api_entry(mod, n, getattr(m, n)) for n in names]
    return '\n'.join([f'# {mod}', '', doc, '', intro, '', '```{eval-rst}', *rst, '```', ''])

def cli_help(argv):
    "What `melonpy ARGV` prints (its real `--help`), run in this process."
    from melonpy.cli import main
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try: main(argv)
        except SystemExit: pass
    return out.getvalue().rstrip()

def cli_page(mods):
    "The CLI page: `melonpy --help` and each command's (from `melonpy.cli.commands`), linked to their API pages."
    from melonpy.cli import commands
    api = lambda m: f'[`{m}`](api/{m.split(".")[-1]}.md)' if m in mods else f'`{m}`'
    made = next((n for m, n in mods.items() if n and m == f'{LIB}.cli'), None)
    parts = ['# Command-line reference', '',
             'The `melonpy` command and each of its subcommands, with the `--help` text they print '
             '(generated from the code when the site is built).' + (f' How the command is made: [its chapter]({made}).' if made else ''),
             '', '## `melonpy`', '', '```text', cli_help(['--help']), '```', '']
    for cmd, (settings, fn) in commands.items():
        mod, doc = fn.partition(':')[0], settings.__doc__
        parts += [f'## `melonpy {cmd}`', '', f'{doc[0].upper()}{doc[1:]} (module {api(mod)}; settings `{settings.__name__}` in {api(settings.__module__)}).', '',
                  '```text', cli_help([cmd, '--help']), '```', '']
    return '\n'.join(parts)

def bench_page(chapter_titles):
    """One section per `bench/*.py`: its docstring, how to run it, and the paragraphs of the chapters that quote its
    figures (the latest ones: benchmarks are slow, the build does not run them)."""
    paras = {}
    for n, title in chapter_titles.items():
        for c in json.loads((NBS/n).read_text())['cells']:
            if c['cell_type'] != 'markdown': continue
            src = ''.join(c['source'])   # the whole cell: a figure's table often follows the sentence naming the script
            for s in sorted(set(re.findall(r'bench/([\w-]+\.py)', src))): paras.setdefault(s, []).append((n, title, src.strip()))
    parts = ['# Benchmarks', '',
             'The scripts in `bench/` measure the course on real data and print their figures; the chapters quote them. '
             'They take minutes to hours, so building this site does not run them: each section shows what a script '
             'measures, how to run it, and the latest figures as the chapters quote them.', '']
    for f in sorted(BENCH.glob('*.py')):
        doc = ast.get_docstring(ast.parse(f.read_text())) or ''
        parts += [f'## `bench/{f.name}`', '', '```text', doc.strip() or '(no docstring)', '```', '',
                  'Run it from the repository root (see its docstring for the data it needs):', '',
                  '```sh', f'python bench/{f.name}', '```', '']
        quotes = paras.get(f.name, [])
        if quotes:
            parts += [f'Figures quoted in the chapters ({len(quotes)}):', '']
            for n, title, p in quotes:
                parts += [f'From [{title}]({n}):', '', '\n'.join('> ' + l if l.strip() else '>' for l in p.split('\n')), '']
        else: parts += ['No chapter quotes its figures yet.', '']
    return '\n'.join(parts)

# ---------------------------------------------------------------- the build

def title_of(nb):
    for c in nb['cells']:
        if c['cell_type'] == 'markdown':
            m = re.match(r'#\s+(.+)', ''.join(c['source']).strip())
            if m: return m.group(1).strip()
    return 'Untitled'

def stage(dest):
    "Write every source page of the site into `dest`."
    sys.path.insert(0, str(ROOT)); sys.path.insert(0, str(DOCS))
    from procnbs import proc_nb
    if dest.exists(): shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for d in ('images',):
        if (NBS/d).exists(): shutil.copytree(NBS/d, dest/d)
    secs, mods = sidebar(), modules()
    pages = {nb_page(n): n for n in notebooks()}
    base, urls, shown = _symbol_links()
    fix = lambda md: fix_links(md, base, urls, shown, pages)
    titles = {}
    for n in notebooks():
        t0 = time.perf_counter()
        proc_nb(NBS/n, dest/n)
        nb = to_myst(json.loads((dest/n).read_text()), fix, nb_module(n))
        titles[n] = title_of(nb)
        if n == 'index.ipynb':
            toc = [(cap, [Path(x).stem for x in ns]) for cap, ns in secs if ns]
            ref = next((t for t in toc if t[0].lower() == 'reference'), None) or toc.append(('Reference', [])) or toc[-1]
            ref[1].extend(['cli_reference', 'benchmarks'])   # beside the notebooks that sidebar.yml calls reference
            toc.append(('API', [f'api/{m.split(".")[-1]}' for m in mods]))
            tocs = [toctree(cap, entries) for cap, entries in toc]
            nb['cells'].append({'cell_type': 'markdown', 'id': 'docs-toctree', 'metadata': {}, 'source': '\n'.join(tocs)})
        (dest/n).write_text(json.dumps(nb, indent=1))
        print(f'docs: processed {n} ({time.perf_counter() - t0:.1f}s)', flush=True)
    (dest/'api').mkdir()
    for m, n in mods.items(): (dest/'api'/f'{m.split(".")[-1]}.md').write_text(api_page(m, n, titles.get(n)))
    (dest/'cli_reference.md').write_text(cli_page(mods))
    chapter_titles = {n: titles[n] for _, ns in secs for n in ns}
    (dest/'benchmarks.md').write_text(bench_page(chapter_titles))
    return dest

def build(out=ROOT/'_site', src=ROOT/'_build'/'docs'/'src', quiet=False):
    "Process and render the whole site into `out`; returns `out`."
    os.environ.setdefault('MPLBACKEND', 'Agg')
    os.chdir(ROOT)   # nbdev reads its settings (pyproject.toml) from here
    stage(src)
    from sphinx.cmd.build import build_main
    html = src.parent/'html'   # MyST-NB writes output images beside the Sphinx output folder: keep both in _build/
    args = ['-b', 'html', '-c', str(DOCS), '-d', str(src.parent/'doctrees'), '-E'] + (['-q'] if quiet else []) + [str(src), str(html)]
    if build_main(args): raise SystemExit('docs: sphinx-build failed')
    if out.exists(): shutil.rmtree(out)
    shutil.move(html, out)
    (out/'.nojekyll').touch()
    print(f'docs: built {out} in {time.perf_counter() - T0:.0f}s', flush=True)
    return out

if __name__ == '__main__':
    p = argparse.ArgumentParser(description='Build the docs site from the notebooks (no notebook is executed).')
    p.add_argument('--out', default=str(ROOT/'_site'), help='output folder (default: _site)')
    p.add_argument('--work', default=str(ROOT/'_build'/'docs'), help='folder for intermediate files (default: _build/docs)')
    p.add_argument('--quiet', action='store_true', help='print only warnings and errors')
    a = p.parse_args()
    build(Path(a.out).resolve(), Path(a.work).resolve()/'src', quiet=a.quiet)
