"""Draw the Mermaid diagrams of the notebooks (and README.md) as SVG files for the docs site, once, by hand.

The site loads nothing from the internet, and Mermaid is a JavaScript library, so the diagrams are drawn ahead of
time: this script renders each ```mermaid block with Mermaid in headless Chromium (left-to-right flowcharts top-down,
to fit a page) and writes
`nbs/images/mermaid/<hash of the diagram's text>.svg`; `./docs.sh` shows that picture in place of the block (and the
block's text, with a notice, when a diagram has no picture yet). Run it after adding or changing a diagram:

    npm install mermaid        # once, anywhere: the npm registry's package
    python docs/render_mermaid.py --js node_modules/mermaid/dist/mermaid.min.js
"""
import argparse, hashlib, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT/'nbs'/'images'/'mermaid'
_re_block = re.compile(r'^```mermaid[ \t]*\n(.*?)^```[ \t]*$', re.S | re.M)

def diagram_id(src):
    "The file name of a diagram's picture: a hash of its text (so a changed diagram gets a new picture)."
    return hashlib.sha256(src.strip().encode()).hexdigest()[:12]

def diagrams():
    "`{id: text}` of every ```mermaid block in README.md and the notebooks' markdown cells."
    texts = [(ROOT/'README.md').read_text(encoding='utf-8')]
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        texts += [''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'markdown']
    return {diagram_id(m.group(1)): m.group(1).strip() for t in texts for m in _re_block.finditer(t)}

def for_page(src):
    "A left-to-right flowchart is drawn top-down: a page is narrower than a GitHub README, and its text would be tiny."
    return re.sub(r'^(\s*(?:flowchart|graph))\s+LR\b', r'\1 TD', src, count=1)

def render(srcs, js, chromium='/usr/bin/chromium'):
    "`{id: svg}` for `{id: text}`, drawn by Mermaid (`js`: mermaid.min.js) in headless Chromium."
    from playwright.sync_api import sync_playwright
    srcs, out = {k: for_page(v) for k, v in srcs.items()}, {}
    if not srcs: return out
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, args=['--no-sandbox', '--disable-gpu'])
        try:
            page = b.new_page()
            page.set_content('<html><body></body></html>')
            page.add_script_tag(path=str(js))
            page.evaluate("mermaid.initialize({startOnLoad: false, theme: 'neutral', htmlLabels: false, flowchart: {htmlLabels: false}})")
            for k, src in srcs.items():   # through the DOM and XMLSerializer: an .svg file must be well-formed XML
                out[k] = page.evaluate('''async ([k, s]) => {
                    const div = document.createElement('div'); document.body.appendChild(div);
                    div.innerHTML = (await mermaid.render('mermaid-' + k, s)).svg;
                    return new XMLSerializer().serializeToString(div.firstElementChild); }''', [k, src])
        finally: b.close()
    return out

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--js', required=True, help="mermaid.min.js (from `npm install mermaid`: node_modules/mermaid/dist/)")
    p.add_argument('--force', action='store_true', help='redraw every diagram, not only those without a picture')
    a = p.parse_args()
    todo = {k: v for k, v in diagrams().items() if a.force or not (OUT/f'{k}.svg').exists()}
    OUT.mkdir(parents=True, exist_ok=True)
    for k, svg in render(todo, Path(a.js)).items():
        (OUT/f'{k}.svg').write_text(svg + '\n'); print(f'wrote {OUT/k}.svg')
    print(f'{len(todo)} diagram(s) drawn; {len(diagrams())} in all', file=sys.stderr)
