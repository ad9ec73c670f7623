"""How responsive is chapter 6's explorer on the whole shared collection?

Trains a small era model with chapter 4 (`train_era_model`; or loads MODEL.safetensors from `melonpy train` when given),
opens `explore(learn, read_covers(collection))` on every cover of the collection, then times what a student does:
change a filter, turn a page, select a cover (Grad-CAM), select it again (cached), open a confusion-matrix cell,
try an image of their own. Prints the figures; asserts nothing about them.

    MELONPY_SHARED=../shared TORCH_HOME=../shared/torch_home python bench/explore_speed.py [MODEL.safetensors]
"""
import os, sys, time
from statistics import median

def timed(f, n=1):
    ts = []
    for _ in range(n):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return median(ts)

def main():
    from melonpy.core import sample_covers
    from melonpy.data import read_covers
    from melonpy.learners import train_era_model
    from melonpy.model_file import load_era_model
    from melonpy.explorer import explore
    src = sample_covers()
    t = time.perf_counter()
    if len(sys.argv) > 1: learn = load_era_model(sys.argv[1]); how = f'loaded {sys.argv[1]}'
    else:
        train = read_covers(src, eras=['1990s', '2000s', '2010s']).groupby('era').sample(100, random_state=0)
        learn = train_era_model(train, size=96, epochs=2, quiet=True)
        how = 'trained squeezenet1_1, 100 covers per era, 96 px, 1+2 epochs'
    print(f'model: {how} in {time.perf_counter() - t:.0f}s; eras {list(learn.dls.vocab)}')
    covers = read_covers(src)
    t = time.perf_counter(); ex = explore(learn, covers); t_pred = time.perf_counter() - t
    n = len(ex.preds)
    print(f'predictions for {n} covers (once, progress bar): {t_pred:.1f}s ({n / t_pred:.0f} covers/s)')
    t = time.perf_counter(); explore(learn, covers); print(f'explore() again (cached): {time.perf_counter() - t:.2f}s')
    lab = ex.preds[ex.preds.era.isin(ex.eras)]
    print(f'accuracy on covers of the model\'s eras: {lab.correct.mean():.1%} of {len(lab)} '
          f'(includes its own training covers); {n - len(lab)} covers from other eras')
    eras = ex.eras
    print(f'filter change (predicted era): {timed(lambda: setattr(ex.pred_era, "value", eras[0])):.3f}s')
    ex.pred_era.value = 'all'
    print(f'filter change (wrong only):    {timed(lambda: setattr(ex.outcome, "value", "wrong")):.3f}s')
    print(f'next page:                     {timed(ex.next_btn.click):.3f}s')
    tiles = ex.grid.children
    print(f'select a cover (Grad-CAM):     {median(timed(t.children[1].click) for t in tiles[:5]):.3f}s (median of 5)')
    print(f'select it again (cached):      {timed(tiles[0].children[1].click, 3):.3f}s')
    import ipywidgets as W
    cells = [w for w in ex.matrix.children[1].children if isinstance(w, W.Button) and w.description != '0']
    print(f'confusion-matrix cell:         {timed(cells[0].click):.3f}s (filters, page and first cover)')
    print(f'your image (predict + Grad-CAM): {timed(lambda: ex.show_image(covers.file.iloc[0]), 3):.3f}s (median of 3)')
    print(f'load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores')
    print(ex.cm.to_string())

if __name__ == '__main__': main()
