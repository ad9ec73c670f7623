"""Benchmark chapter 1: scrape 30 years (1990-2019, both markup variants) from a practice Melon on loopback that
injects 503s, cut connections, truncated images, error pages, 404 covers, an unreadable row and an empty year;
then run again to show the resume makes no cover requests. Prints rows, covers, requests and wall times.
Then (issue 16) a hostile practice Melon: bad cover links, a redirect loop, an 11 MB body, a gzip bomb, a trickle,
a 90-megapixel image, a 300-digit album id, a gzip bomb and an 11 MB body as chart pages: prints the time, the peak
memory the scrape allocated (tracemalloc, the server's own allocations excluded) and what each became; and two
runs (1990, then 1991) into one folder, which must list 200 rows.

    python bench/scrape.py [--delay 0] [--per-year 100] [--deadline 2]
"""
import argparse, sys, tempfile, time, tracemalloc
from pathlib import Path
import pandas as pd
from PIL import Image
from melonpy.scrape import scrape, scrape_summary
sys.path.insert(0, str(Path(__file__).resolve().parents[1]/'tests'))
from melons import faulty_melon, hostile_melon   # the practice Melons of the tests

def hostile(deadline):
    "Scrape the hostile practice Melon once; print time, peak memory of this thread's work and the problems."
    melon, facts = hostile_melon()
    out = Path(tempfile.mkdtemp())/'hostile'
    with melon:
        melon.bomb_body()
        tracemalloc.start()
        t = time.perf_counter()
        r = scrape(facts['years'], out, base_url=melon.url, delay=0, backoff=0.01, deadline=deadline, progress=False)
        t, peak = time.perf_counter() - t, tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(f'hostile   : {t:6.2f}s  peak traced memory {peak / 2**20:.0f} MB (includes the server thread: ~11 MB per huge body)')
    print(f'            {scrape_summary(r)}')
    probs = pd.read_csv(out/'problems.csv', dtype=str, keep_default_na=False)
    for alb, want in facts['covers'].items():
        got = ' '.join(probs.problem[probs.item == f'cover of album {alb}']) or ('cover kept' if (out/'covers'/f'{alb}.jpg').exists() else '?')
        print(f'            album {alb}: expected {want!r:28} got {got[:90]}')
    for y, want in facts['pages'].items():
        print(f'            page {y}: expected {want!r:28} got {" ".join(probs.problem[(probs.year == str(y)) & (probs.item == "chart page")])[:90]}')

def merged(per_year):
    "1990 then 1991 into one folder: rows listed."
    from melonpy.practice import PracticeMelon, practice_charts
    charts, covers = practice_charts([1990, 1991], per_year=per_year)
    out = Path(tempfile.mkdtemp())/'merged'
    with PracticeMelon(charts, covers) as melon:
        for y in (1990, 1991): scrape([y], out, base_url=melon.url, delay=0, progress=False)
    ch = pd.read_csv(out/'charts.csv', dtype=str, keep_default_na=False)
    print(f'1990+1991 : charts.csv rows {len(ch)} (expected {2 * per_year}), with a cover file {(ch.cover_file != "").sum()}')

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--delay', type=float, default=0.0)
    ap.add_argument('--per-year', type=int, default=100)
    ap.add_argument('--deadline', type=float, default=2.0, help='request deadline for the hostile run (the default of scrape is 30 s)')
    a = ap.parse_args()
    melon, facts = faulty_melon(per_year=a.per_year)
    out = Path(tempfile.mkdtemp())/'covers'
    with melon:
        t = time.perf_counter()
        r1 = scrape('1990-2019', out, base_url=melon.url, delay=a.delay, backoff=0.01, progress=False)
        t1, n1 = time.perf_counter() - t, len(melon.log)
        t = time.perf_counter()
        r2 = scrape('1990-2019', out, base_url=melon.url, delay=a.delay, backoff=0.01, progress=False)
        t2, log2 = time.perf_counter() - t, melon.log[n1:]
    files = sorted((out/'covers').glob('*.jpg'))
    ok = sum(Image.open(f).format == 'JPEG' for f in files)
    ch = pd.read_csv(out/'charts.csv', dtype=str, keep_default_na=False)
    print(f'first run : {t1:6.2f}s  {scrape_summary(r1)}')
    print(f'            requests {n1} (pages {sum("list.htm" in p for p in melon.log[:n1])}, '
          f'covers {sum("_500" in p for p in melon.log[:n1])}); expected rows {facts["rows"]}, albums {facts["albums"]}, '
          f'404 albums {len(facts["missing"])}')
    print(f'            covers on disk {len(files)}, valid JPEG {ok}; charts.csv rows {len(ch)}')
    print(f'second run: {t2:6.2f}s  {scrape_summary(r2)}')
    print(f'            requests {len(log2)} (covers {sum("_500" in p for p in log2)}, pages {sum("list.htm" in p for p in log2)})')
    hostile(a.deadline)
    merged(a.per_year)

if __name__ == '__main__': main()
