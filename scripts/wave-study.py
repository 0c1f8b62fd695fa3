#!/usr/bin/env python3
"""Fold-9 study of the wave density (`ecgmodel::waves`, docs/MODEL_HISTORY.md).

Uses fold 9 only (fold 10 is the test fold). Input: the components, encoder features and
median-beat vectors of every training normal and fold-9 study, written with the shipped
weights by

    DUMP_FAST=1 DUMP_SPLITS=train,val \\
        cargo run --release -p ecglab --example dump_components -- models /tmp/components.csv

Then (numpy, scipy and scikit-learn: `pip install numpy scipy scikit-learn`):

    python3 scripts/wave-study.py /tmp/components.csv models/manifest.json

Prints the weighing's fold-9 AUROC, 5-fold cross-validated (three shuffles averaged),
without wave measures and with them grouped several ways, with further measures that were
not kept, and with each measure weighed alone (the variants not built: see MODEL_HISTORY). The feature density is refitted here on the
training normals (shrinkage 0.01, as `ecglab::fit`), and the measures are computed as
`ecgmodel::waves::wave_measures` does.
"""
import csv
import json
import sys

import numpy as np
from scipy.optimize import minimize
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

csv.field_size_limit(10**9)
rows = list(csv.DictReader(open(sys.argv[1])))
manifest = json.load(open(sys.argv[2]))
train = [r for r in rows if r["split"] == "train"]
val = [r for r in rows if r["split"] == "val"]
y = np.array([int(r["label"]) for r in val])
vec = lambda rs, key: np.array([[float(x) for x in r[key].split()] for r in rs])
log_f = lambda x: np.log(np.abs(x) + 1e-3)
names = [n for n in manifest["calibration"]["names"]]
skip = {"features", "waves"}
others = [i for i, n in enumerate(names) if n not in skip]
signed = [n.endswith("_excess") for n in (names[i] for i in others)]
comps = np.array([[float(r[names[i]]) for i in others] for r in val])


def robust_z(x):
    x = np.nan_to_num(x)
    m = np.median(x[y == 0], 0)
    hi, lo = np.percentile(x[y == 0], [75, 25], 0)
    return (x - m) / ((hi - lo) / 1.349 + 1e-6)


def gauss_dist(tr, va, shrink):
    n, d = tr.shape
    mu = tr.mean(0)
    c = tr - mu
    cov = c.T @ c / (n - 1)
    t = np.trace(cov) / d
    p = np.linalg.inv(cov * (1 - shrink) + np.eye(d) * shrink * max(t, 1e-9))
    dd = va - mu
    return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", dd, p, dd), 0))


def fit(x, yy, l2, signs):
    n, d = x.shape

    def f(w):
        p = 1 / (1 + np.exp(-(x @ w[:d] + w[d])))
        loss = -np.sum(yy * np.log(p + 1e-12) + (1 - yy) * np.log(1 - p + 1e-12))
        g = (x.T @ (p - yy) + 2 * l2 * w[:d]) / n
        return (loss + l2 * np.sum(w[:d] ** 2)) / n, np.append(g, np.mean(p - yy))

    bounds = [(None, None) if s else (0, None) for s in signs] + [(None, None)]
    return minimize(f, np.zeros(d + 1), jac=True, method="L-BFGS-B", bounds=bounds).x


def cv(blocks, l2=10.0, signed_extra=False):
    x = np.hstack(blocks + [robust_z(comps)])
    signs = [False] * (x.shape[1] - len(signed)) + signed
    if signed_extra:  # the last block's columns may weigh either direction
        signs[x.shape[1] - len(signed) - blocks[-1].shape[1]:x.shape[1] - len(signed)] = \
            [True] * blocks[-1].shape[1]
    out = []
    for seed in range(3):
        p = np.zeros(len(y))
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(x, y):
            p[te] = x[te] @ fit(x[tr], y[tr], l2, signs)[:-1]
        out.append(roc_auc_score(y, p))
        if seed == 0:
            cv.scores = p  # the first shuffle's held-out scores, for the per-class figures
    return np.mean(out)


def per_class(scores, min_n=30):
    """AUROC of each abnormal label set (superclasses as PTB-XL gives them) against the
    normals, for sets of at least `min_n` studies."""
    classes = np.array([r["classes"] for r in val])
    out = {}
    for c in sorted(set(classes[y == 1])):
        m = (y == 1) & (classes == c)
        if m.sum() >= min_n:
            keep = (y == 0) | m
            out[c] = (int(m.sum()), roc_auc_score(y[keep], scores[keep]))
    return out


ftr, fva = log_f(vec(train, "feat_vec")), log_f(vec(val, "feat_vec"))
feat = robust_z(np.array([gauss_dist(ftr[:, b["start"]:b["start"] + b["len"]],
                                     fva[:, b["start"]:b["start"] + b["len"]], 0.01)
                          for b in manifest["features"]["blocks"]]).T)

# The wave measures (ecgmodel::waves::wave_measures).
N, T = 81, np.arange(81) * 10 - 200


def beats(rs):
    for r in rs:
        v = np.array([float(x) for x in r["shape_vec"].split()])
        yield v[:12 * N].reshape(12, N), v[12 * N:]


def measures(rs):
    out = []
    for r in rs:
        v = np.array([float(x) for x in r["shape_vec"].split()])
        beat, sc = v[:12 * N].reshape(12, N), v[12 * N:]
        qrs = np.clip(sc[3] * 10, 60, 200)
        w = lambda a, b: (T >= a) & (T <= b)
        tw = w(qrs + 100, qrs + 400)
        seg = beat[:, w(0, qrs)]
        q_width = []
        for lead in seg:
            k = 0
            while k < len(lead) and lead[k] <= 0.5:  # 0.05 mV in the vector's 0.1 mV units
                k += 1
            q_width.append(float((lead[:k] < -0.5).sum()) * 10)
        m = [seg.max(1), seg.min(1), beat[:, w(0, 40)].min(1),
             beat[:, w(qrs, qrs + 20)].mean(1), beat[:, w(qrs + 40, qrs + 80)].mean(1),
             beat[:, tw].max(1), beat[:, tw].min(1),
             np.ptp(beat[:, w(-200, -20)], 1), np.array(q_width)]
        r_, s_ = m[0], m[1]
        volt = [-s_[6] + max(r_[10], r_[11]), r_[4] - s_[8]]
        out.append(np.concatenate(m + [volt, sc[:12]]))
    return np.array(out)


mtr, mva = measures(train), measures(val)
med = np.median(mtr, 0)
iqr = np.subtract(*np.percentile(mtr, [75, 25], 0)) / 1.349
iqr = np.where(iqr > 1e-6, iqr, 1.0)
ztr, zva = np.clip((mtr - med) / iqr, -30, 30), np.clip((mva - med) / iqr, -30, 30)
by_measure = [list(range(12 * k, 12 * k + 12)) for k in range(9)]
by_lead = [[12 * k + lead for k in range(9)] for lead in range(12)]
rest = [[108, 109], list(range(110, 115)), list(range(115, 121)), [121]]


def groups(gs, shrink=0.01):
    return robust_z(np.array([gauss_dist(ztr[:, g], zva[:, g], shrink) for g in gs]).T)


print(f"fold-9 studies without a median beat: {sum(not r['shape_vec'] for r in val)} of {len(val)}"
      f" (training normals: {sum(not r['shape_vec'] for r in train)} of {len(train)})")
print(f"feature blocks + components (no wave measures): {cv([feat]):.4f}")
before = per_class(cv.scores)
shipped_auroc = cv([feat, groups(by_measure + rest)])
print(f"+ wave groups by measure, shrinkage 0.01 (shipped): {shipped_auroc:.4f}")
after = per_class(cv.scores)
for shrink in (0.05, 0.2):
    print(f"+ wave groups by measure, shrinkage {shrink}: {cv([feat, groups(by_measure + rest, shrink)]):.4f}")
print("per label set, held-out AUROC without -> with the wave groups (first shuffle):")
for c, (n, auc) in before.items():
    print(f"  {c or '(none)'} (n {n}): {auc:.3f} -> {after[c][1]:.3f}")
print(f"+ wave groups by measure without the Q width: {cv([feat, groups(by_measure[:8] + rest)]):.4f}")
print(f"+ wave groups by lead: {cv([feat, groups(by_lead + rest)]):.4f}")
print(f"+ both groupings: {cv([feat, groups(by_measure + by_lead + rest)]):.4f}")
print(f"+ each measure alone, |z| (not built): {cv([feat, np.abs(zva)]):.4f}")
print(f"+ each measure alone, with a sign (not built): {cv([feat, zva], signed_extra=True):.4f}")

# Measures tried and not kept, each added to the shipped groups as a group of its own.
def extra(rs):
    out = {k: [] for k in ("t_ratio", "q_ratio", "notches", "q_width_01", "areas")}
    for beat, sc in beats(rs):
        qrs = np.clip(sc[3] * 10, 60, 200)
        w = lambda a, b: (T >= a) & (T <= b)
        seg, tw = beat[:, w(0, qrs)], w(qrs + 100, qrs + 400)
        amp = seg.max(1) - seg.min(1) + 1.0
        out["t_ratio"].append(np.concatenate([beat[:, tw].max(1) / amp, beat[:, tw].min(1) / amp]))
        out["q_ratio"].append(np.minimum(seg[:, :5].min(1), 0) / amp)
        notches, q01 = [], []
        for lead in seg:
            d = np.diff(lead)
            d = d[np.abs(d) > 0.3]
            notches.append(float((np.diff(np.sign(d)) != 0).sum()))
            k = 0
            while k < len(lead) and lead[k] <= 1.0:
                k += 1
            q01.append(float((lead[:k] < -1.0).sum()) * 10)
        out["notches"].append(notches)
        out["q_width_01"].append(q01)
        out["areas"].append(np.concatenate([
            seg.sum(1), beat[:, tw].sum(1),
            beat[:, w(qrs + 60, qrs + 100)].mean(1) - beat[:, w(qrs, qrs + 20)].mean(1)]))
    return {k: np.array(v) for k, v in out.items()}


xtr, xva = extra(train), extra(val)


def extra_group(k):
    tr, va = xtr[k], xva[k]
    m = np.median(tr, 0)
    q = np.subtract(*np.percentile(tr, [75, 25], 0)) / 1.349
    q = np.where(q > 1e-6, q, 1.0)
    a, b = np.clip((tr - m) / q, -30, 30), np.clip((va - m) / q, -30, 30)
    if k == "areas":  # three groups: QRS area, T area, ST slope
        return robust_z(np.array([gauss_dist(a[:, i:i + 12], b[:, i:i + 12], 0.01)
                                  for i in (0, 12, 24)]).T)
    return robust_z(gauss_dist(a, b, 0.01)[:, None])


shipped = groups(by_measure + rest)
for k in ("t_ratio", "q_ratio", "notches", "areas"):
    print(f"+ {k} (not kept): {cv([feat, shipped, extra_group(k)]):.4f}")
print(f"Q width at 0.1 mV instead of 0.05 mV (not kept): "
      f"{cv([feat, groups(by_measure[:8] + rest), extra_group('q_width_01')]):.4f}")

# The feature density itself: conditioned on recorded age and sex, and one Gaussian of
# every feature instead of 14 blocks (without wave measures, as when they were measured).
attrs = lambda rs: np.array([[float(r["actual_age_years"]), float(r["actual_female"])]
                             for r in rs])


def design(a):
    age = np.nan_to_num(a[:, 0], nan=np.nanmedian(a[:, 0]))
    sex = np.nan_to_num(a[:, 1], nan=0.5)
    z = (age - 60) / 20
    return np.stack([np.ones(len(a)), z, z * z, sex, sex * z], 1)


dtr, dva = design(attrs(train)), design(attrs(val))
beta = np.linalg.lstsq(dtr, ftr, rcond=None)[0]
rtr, rva = ftr - dtr @ beta, fva - dva @ beta
cond = robust_z(np.array([gauss_dist(rtr[:, b["start"]:b["start"] + b["len"]],
                                     rva[:, b["start"]:b["start"] + b["len"]], 0.01)
                          for b in manifest["features"]["blocks"]]).T)
print(f"feature density conditioned on age and sex, no wave measures (not kept): {cv([cond]):.4f}")
one = robust_z(gauss_dist(ftr, fva, 0.01)[:, None])
print(f"one Gaussian of all features, no wave measures (not kept): {cv([one]):.4f}")

# The networks' per-lead restoration errors beside the shipped groups (not kept: below the
# seed spread of ± 0.003).
log_err = lambda rs: np.log(np.array([[float(r[f"lead_err_{k}"]) for k in range(12)]
                                      for r in rs]) + 1e-7)
lead_block = robust_z(gauss_dist(log_err(train), log_err(val), 0.01)[:, None])
print(f"shipped groups {shipped_auroc:.4f}; + one Gaussian of the 12 log lead errors (not kept): "
      f"{cv([feat, shipped, lead_block]):.4f}; + the 12 log lead errors "
      f"weighed alone (not kept): {cv([feat, shipped, robust_z(log_err(val))]):.4f}")
