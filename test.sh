#!/usr/bin/env bash
# The project's test command (README "Run the tests"; .ci/run calls it too).
# Runs every notebook's cells with nbdev-test, then the pytest suite in tests/.
# Cells that need a cover collection (#| covers) run when $MELONPY_SHARED or $MELONPY_DATA points at one;
# cells that need the internet (#| internet) or take long (#| slow) are skipped unless you add them:
#   MELONPY_TEST_FLAGS="internet slow" ./test.sh
set -uo pipefail
cd "$(dirname "$0")"
flags="${MELONPY_TEST_FLAGS:-}"
if [ -n "${MELONPY_SHARED:-}" ] && [ -d "${MELONPY_SHARED}/data/covers" ]; then
  flags="$flags covers"
  export TORCH_HOME="${TORCH_HOME:-$MELONPY_SHARED/torch_home}"
elif [ -n "${MELONPY_DATA:-}" ] && [ -d "${MELONPY_DATA}" ]; then
  flags="$flags covers"
else
  echo "test.sh: no cover collection (set MELONPY_SHARED or MELONPY_DATA): notebook cells marked '#| covers' are skipped, and so are pytest tests that need it"
fi
export MPLBACKEND=Agg
echo "test.sh: nbdev-test --flags '${flags# }'"
nbdev-test --n-workers "${MELONPY_TEST_WORKERS:-2}" --timing --flags "${flags# }" || exit 1
# two workers (MELONPY_TEST_WORKERS): a test file runs whole on one of them (tests/conftest.py groups them)
pytest -ra -n "${MELONPY_TEST_WORKERS:-2}" --dist loadgroup "$@"
rc=$?
if [ $rc -eq 5 ]; then echo "test.sh: pytest collected no tests"; exit 0; fi
exit $rc
