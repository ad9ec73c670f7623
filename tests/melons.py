"Misbehaving practice Melons for the tests and `bench/scrape.py`, built from chapter 1's `PracticeMelon`: one that fails the way the internet usually does, one the way an attacker or a broken site would. Each returns the server and the facts a test checks against."
import random
from melonpy.practice import PracticeMelon, practice_charts

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

def hostile_melon(years=range(2001, 2006), per_year=20, seed=2, drip=0.05):
    """A `PracticeMelon` whose rows and server are hostile: in the first year, covers linked relatively, as `file://`,
    as `javascript:`, through a redirect loop, of 11 MB, as a gzip bomb, trickling in (when `drip` seconds per byte is
    given), of 90 million pixels; a row with a 300-digit album id; an album of the second year listed first with a
    dead link. The second and third years' pages come gzip/deflate-compressed, the fourth is a gzip bomb, the fifth
    11 MB. Returns (melon, facts): facts['covers'] maps album ids to 'cover' (it must be kept) or words its problem
    must contain; facts['pages'] the same for the years whose page must fail."""
    import io
    from PIL import Image
    from melonpy.fetch import CDN
    years = list(years)
    charts, covers = practice_charts(years, per_year=per_year, seed=seed)
    y0, y1 = years[:2]
    seen = {}
    for y in years:
        for r in charts[y]: seen[r['album_id']] = seen.get(r['album_id'], 0) + 1
    once = [r for r in charts[y0] if seen[r['album_id']] == 1]
    kinds = ['relative', 'file', 'javascript', 'loop', 'huge', 'bomb', 'giant'] + (['drip'] if drip else [])
    assert len(once) >= len(kinds), 'not enough albums that appear once: raise per_year'
    faults, expect = {}, {}
    for kind, r in zip(kinds, once):
        a = r['album_id']
        if kind == 'relative': r['cover_url'] = r['cover_url'].replace(CDN, ''); expect[a] = 'cover'
        elif kind == 'file': r['cover_url'] = f'file:///etc/{a}_500.jpg'; expect[a] = 'not an http(s) link'
        elif kind == 'javascript': r['cover_url'] = 'javascript:void(0)'; expect[a] = 'not an http(s) link'
        elif kind == 'loop': r['cover_url'] = r['cover_url'].replace('/cm/', '/loop/'); faults['/loop/'] = 'loop'; expect[a] = 'more than 5 redirects'
        elif kind == 'giant':
            buf = io.BytesIO(); Image.new('1', (9500, 9500)).save(buf, 'PNG'); covers[a] = buf.getvalue(); expect[a] = 'too many pixels'
        else:
            faults[f'/{a}_500'] = kind
            expect[a] = {'huge': 'over the 10 MB limit', 'bomb': 'once decompressed', 'drip': 'too slow'}[kind]
    twice = next(r for r in charts[y1] if r['album_id'] not in {x['album_id'] for x in charts[y0]})
    dead = twice['cover_url'].replace('_500.jpg', '_404.jpg')   # answers 404
    charts[y0] = charts[y0] + [dict(twice, rank=per_year + 1, song_id='1', cover_url=dead),
                               dict(twice, rank=per_year + 2, song_id='2', album_id='9' * 300)]
    expect[twice['album_id']] = 'cover'
    pages = {}
    for y, kind in zip(years[1:], ['gzip', 'deflate', 'bomb', 'huge']):
        faults[f'chartDate={y}&'] = kind
        if kind == 'bomb': pages[y] = 'once decompressed'
        if kind == 'huge': pages[y] = 'over the 5 MB limit'
    facts = dict(charts=charts, covers=expect, pages=pages, years=years, twice=twice['album_id'],
                 rows=sum(len(charts[y]) for y in years if y not in pages) - 1)
    return PracticeMelon(charts, covers, faults=faults, drip=drip or 0.5), facts
