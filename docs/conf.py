"""Sphinx settings of the docs site (`./docs.sh`): MyST-NB renders the notebooks that `docs/build.py` processed
with nbdev, with their saved outputs (nothing is executed), in the Sphinx Book Theme (Jupyter Book's look).
Everything the pages need is served from the site itself: no CDN (math uses a local MathJax)."""
import os, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))   # autodoc documents this checkout's melonpy, not an installed copy

project = 'melonpy'
author = 'melonpy developers'
copyright = 'melonpy developers'
from melonpy import __version__ as release
version = release

extensions = ['myst_nb', 'sphinx.ext.autodoc', 'sphinx.ext.mathjax', 'sphinx-mathjax-offline']

# notebooks: saved outputs only, never executed; stderr and stdout shown as the notebook saved them
nb_execution_mode = 'off'
nb_merge_streams = True
nb_output_stderr = 'show'
nb_render_markdown_format = 'myst'   # show_doc's markdown outputs get the same extensions as markdown cells
myst_enable_extensions = ['dollarmath', 'amsmath', 'attrs_inline', 'colon_fence', 'deflist', 'strikethrough']
myst_heading_anchors = 3
suppress_warnings = ['myst.header', 'mystnb.unknown_mime_type', 'misc.highlighting_failure']

# API pages: `automodule` lists exactly `__all__`, in that order, with signatures and docstrings
autodoc_default_options = {'members': True, 'undoc-members': True, 'member-order': 'bysource'}
autodoc_typehints = 'signature'
autodoc_preserve_defaults = True
add_module_names = False

_re_code = re.compile(r'(?<!`)`([^`]+)`(?!`)')

def _md_code(line):
    "Markdown's `code` as reST's ``code``, escaped-space-joined (``\\ ``) to neighbouring characters, as reST requires."
    def sub(m):
        pre = '\\ ' if m.start() and not line[m.start() - 1].isspace() else ''
        post = '\\ ' if m.end() < len(line) and not line[m.end()].isspace() else ''
        return f'{pre}``{m.group(1)}``{post}'
    return _re_code.sub(sub, line)

def md_docstring(app, what, name, obj, options, lines):
    "nbdev docstrings are Markdown: its `code` becomes reST's ``code`` (else reST shows it in italics)."
    lines[:] = [_md_code(l) for l in lines]

def setup(app): app.connect('autodoc-process-docstring', md_docstring)

html_theme = 'sphinx_book_theme'
html_title = 'melonpy'
html_static_path = [str(Path(__file__).parent/'static')]
html_css_files = ['melonpy.css']
html_favicon = str(Path(__file__).parent/'static'/'favicon.png')
html_context = {'default_mode': 'light'}   # the theme logs a console error when no mode is set
html_theme_options = {
    'repository_url': 'https://github.com/melonpy/melonpy',
    'use_repository_button': True,
    'path_to_docs': 'nbs',
    'show_toc_level': 2,
    'home_page_in_toc': True,
    'navigation_with_keys': False,
    'use_download_button': False,   # it would offer the processed notebook, not the chapter's
}
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None
exclude_patterns = ['_build', '**.ipynb_checkpoints']
