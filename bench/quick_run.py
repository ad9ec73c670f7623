#!/usr/bin/env python
"""Benchmark: `melonpy run --quick` as a class runs it, from an empty feature cache, through the command itself.

Runs `melonpy run --data COVERS --quick --out RUN` in a fresh process (so PyTorch's import is counted) with an empty
melonpy cache (`MELONPY_CACHE` in a temporary folder: no covers read before, no features computed before), then
prints the wall time, each stage's seconds (from the run's stages.json), the load average before and after, and
writes them to bench/results/quick_run.json. The goal: at most 2 minutes on a 2-core CPU (`--goal`). What the run's
report page shows (its sections, pictures, size, the sentence on where the model fails) goes to
bench/results/quick_report.json, read by chapter 10's "What we found".

    MELONPY_SHARED=../shared TORCH_HOME=../shared/torch_home nice python bench/quick_run.py
    python bench/quick_run.py --data covers --threads 2        # any collection; --threads as `melonpy run --threads`

The machine's load matters: a busy machine makes the figure pessimistic, so the load average is saved beside it.
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path

here = Path(__file__).resolve().parent


def report_facts(run:Path) -> dict:
    "What the report page of run folder `run` shows, as a reader meets it: sections, pictures, size, the failure sentence."
    from bs4 import BeautifulSoup
    from melonpy.report import report_context
    html = (run/'report.html').read_text(encoding='utf-8')
    soup, ctx = BeautifulSoup(html, 'html.parser'), report_context(run)
    return dict(kb=round(len(html.encode()) / 1024, 1), sections=[h.get_text(' ', strip=True) for h in soup.find_all('h2')],
                pictures=len(soup.find_all('img')), tables=len(soup.find_all('table')), fails=ctx['fails'],
                styled=len(ctx['style'] or []), raised=ctx['raised'], warnings=len(soup.select('.warn')))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', default=None, help='cover collection (default: $MELONPY_SHARED/data/covers)')
    p.add_argument('--threads', type=int, default=None, help="melonpy run --threads (default: PyTorch's choice)")
    p.add_argument('--goal', type=float, default=120., help='seconds the quick run should stay within (default: %(default)s)')
    p.add_argument('--save', default=str(here/'results'/'quick_run.json'), help='where to write the figures (default: %(default)s)')
    p.add_argument('--save-report', default=str(here/'results'/'quick_report.json'), help="where to write what the run's report shows (default: %(default)s)")
    a = p.parse_args()
    data = a.data or (os.environ.get('MELONPY_SHARED') and str(Path(os.environ['MELONPY_SHARED'])/'data'/'covers'))
    if not data or not Path(data, 'metadata.csv').is_file() and not Path(data).is_dir():
        sys.exit('bench/quick_run.py: give --data COVERS, or set MELONPY_SHARED to the shared material folder')
    with tempfile.TemporaryDirectory(prefix='melonpy-quick-') as tmp:
        env = dict(os.environ, MELONPY_CACHE=str(Path(tmp)/'cache'), MPLBACKEND='Agg')
        run = Path(tmp)/'run'
        cmd = [sys.executable, '-m', 'melonpy.cli', 'run', '--data', str(data), '--quick', '--out', str(run)]
        if a.threads: cmd += ['--threads', str(a.threads)]
        load0, t = os.getloadavg(), time.time()
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall, load1 = time.time() - t, os.getloadavg()
        if r.returncode: sys.exit(f'bench/quick_run.py: the run failed:\n{r.stderr[-3000:]}')
        book = json.loads((run/'stages.json').read_text())
        page = report_facts(run)
    res = dict(date=time.strftime('%Y-%m-%d %H:%M'), command='melonpy run --data COVERS --quick --out RUN', cache='empty',
               wall_s=round(wall, 1), goal_s=a.goal, within_goal=wall <= a.goal, cpus=os.cpu_count(), threads=a.threads,
               load_before=[round(x, 2) for x in load0], load_after=[round(x, 2) for x in load1],
               covers=book['stages']['dataset']['covers'], stages={n: v['seconds'] for n, v in book['stages'].items()},
               summary=r.stdout.strip().splitlines()[-1])
    print(f"melonpy run --quick: {wall:.0f} s from an empty cache ({res['covers']} covers; goal {a.goal:.0f} s: "
          f"{'met' if res['within_goal'] else 'MISSED'}); load average {load0[0]:.2f} before, {load1[0]:.2f} after; {os.cpu_count()} CPUs")
    print('| stage | s |\n|---|---|\n' + '\n'.join(f'| {n} | {s:.1f} |' for n, s in res['stages'].items()))
    Path(a.save).parent.mkdir(parents=True, exist_ok=True)
    Path(a.save).write_text(json.dumps(res, indent=1, ensure_ascii=False) + '\n')
    rep = dict(date=res['date'], command=res['command'], covers=res['covers'], report_s=res['stages'].get('report'), **page)
    Path(a.save_report).write_text(json.dumps(rep, indent=1, ensure_ascii=False) + '\n')
    print(f'saved {a.save} and {a.save_report}')
    return 0 if res['within_goal'] else 1


if __name__ == '__main__': sys.exit(main())
