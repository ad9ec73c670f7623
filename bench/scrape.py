"""Benchmark chapter 1: scrape 30 years (1990-2019, both markup variants) from a practice Melon on loopback that
injects 503s, cut connections, truncated images, error pages, 404 covers, an unreadable row and an empty year;
then run again to show the resume makes no cover requests. Prints rows, covers, requests and wall times.

    python bench/scrape.py [--delay 0] [--per-year 100]
"""
import argparse, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]/'tests'))
import pandas as pd
from PIL import Image
from melonpy.scrape import scrape, scrape_summary
from melon_scenario import faulty_melon

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--delay', type=float, default=0.0)
    ap.add_argument('--per-year', type=int, default=100)
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

if __name__ == '__main__': main()
