"A practice Melon that misbehaves like the real internet: shared by tests/test_scrape.py and bench/scrape.py."
import random
from melonpy.scrape import PracticeMelon, practice_charts

def faulty_melon(years=range(1990, 2020), per_year=100, seed=1, empty=(1993,), n_each=15):
    """A `PracticeMelon` serving `years` in both markup variants, with: 503s on some chart pages, connections cut
    half-way, truncated images and error pages instead of images on some covers (each once or twice, then fine),
    covers that stay 404, an unreadable row, and empty years. Returns (melon, facts)."""
    charts, covers = practice_charts(years, per_year=per_year, seed=seed)
    for y in empty: charts[y] = []
    rng = random.Random(seed)
    y0 = next(y for y in years if charts[y])
    charts[y0] = charts[y0] + [dict(rank=per_year + 1, song_id='0', title='broken', artists='nobody', album_id='', album='', cover_url='')]
    albums = sorted({r['album_id'] for rows in charts.values() for r in rows} - {''})
    picks = rng.sample(albums, 4 * n_each)
    missing, cut, short, html = (picks[i * n_each:(i + 1) * n_each] for i in range(4))
    faults = {f'chartDate={y}&': ['503', '503'] for y in rng.sample([y for y in years if charts[y]], 5)}
    faults[f'chartDate={y0 + 1}&'] = ['cut']
    faults.update({f'/{a}_500': ['cut'] for a in cut})
    faults.update({f'/{a}_500': ['short', 'short'] for a in short})
    faults.update({f'/{a}_500': ['html'] for a in html})
    facts = dict(charts=charts, covers=covers, missing=set(missing), broken_year=y0, empty=set(empty),
                 rows=sum(len(r) for r in charts.values()) - 1, albums=len(albums))
    return PracticeMelon(charts, covers, faults=faults, missing=missing), facts
