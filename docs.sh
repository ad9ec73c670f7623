#!/usr/bin/env bash
# Build the docs site into _site/ from the notebooks (README "Docs"): nbdev processes them, Sphinx + MyST-NB render them
# with their saved outputs (no notebook is executed). Open _site/index.html, or serve it: python -m http.server -d _site
# With Quarto installed, `nbdev-docs` still builds nbdev's own site from nbs/_quarto.yml instead.
set -euo pipefail
cd "$(dirname "$0")"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" MPLBACKEND=Agg
exec python docs/build.py "$@"
