#!/usr/bin/env python3
"""Fold-9 study of how the anomaly score's parts are combined (docs/MODEL_HISTORY.md).

Uses fold 9 only (fold 10 is the test fold). Input: the components and encoder features
of every training normal and fold-9 study, written with the shipped weights by

    DUMP_FAST=1 DUMP_SPLITS=train,val \
        cargo run --release -p ecglab --example dump_components -- models /tmp/components.csv

Then (numpy, scipy and scikit-learn: `pip install numpy scipy scikit-learn`):

    python3 scripts/score-study.py /tmp/components.csv models/manifest.json

Prints: each component's fold-9 AUROC; k-nearest-neighbour feature distances (the
alternative to the block Gaussians); the non-negative logistic weighing that
`ecglab::fit::weigh_components` fits, 5-fold cross-validated within fold 9, for several
L2 penalties, over the feature blocks and the other components or the components only.
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

names = ["global", "beat", "trend", "embedding", "features", "age_gap", "sex_gap",
         "hr_gap", "pr_gap", "qrs_gap", "qt_gap", "qtc_gap", "shape"]
comps = np.array([[float(r[n]) for n in names] for r in val])
for i, n in enumerate(names):
    m = np.isfinite(comps[:, i])
    print(f"{n:10s} alone: {roc_auc_score(y[m], comps[m, i]):.4f}")

# k-NN distances on standardized log features, and on the embedding.
ftr, fva = log_f(vec(train, "feat_vec")), log_f(vec(val, "feat_vec"))
mu, sd = ftr.mean(0), ftr.std(0) + 1e-6
ztr, zva = (ftr - mu) / sd, (fva - mu) / sd


def knn(a, b, k):
    aa = (a * a).sum(1)
    out = []
    for i in range(0, len(b), 256):
        bb = b[i:i + 256]
        d = (bb * bb).sum(1)[:, None] + aa[None, :] - 2 * bb @ a.T
        out.append(np.sqrt(np.sort(np.maximum(d, 0), 1)[:, :k]).mean(1))
    return np.concatenate(out)


for k in (1, 5, 20):
    print(f"k-NN features k={k}: {roc_auc_score(y, knn(ztr, zva, k)):.4f}")
_, s, vt = np.linalg.svd(ztr - ztr.mean(0), full_matrices=False)
for nd in (32, 128):
    p = vt[:nd].T / (s[:nd] / np.sqrt(len(ztr)))
    a, b = (ztr - ztr.mean(0)) @ p, (zva - ztr.mean(0)) @ p
    for k in (5, 20):
        print(f"k-NN whitened {nd} dims k={k}: {roc_auc_score(y, knn(a, b, k)):.4f}")
etr, eva = vec(train, "emb_vec"), vec(val, "emb_vec")
em, es = etr.mean(0), etr.std(0) + 1e-6
for k in (5, 20):
    print(f"k-NN embedding k={k}: {roc_auc_score(y, knn((etr - em) / es, (eva - em) / es, k)):.4f}")

# Block distances as the shipped FeatureModel computes them (robust z on fold-9 normals).
blocks = []
for b in manifest["features"]["blocks"]:
    st, ln = b["start"], b["len"]
    d = fva[:, st:st + ln] - np.array(b["mean"])
    prec = np.array(b["precision"]).reshape(ln, ln)
    dist = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", d, prec, d), 0))
    blocks.append((dist - b["center"]) / b["scale"])
blocks = np.array(blocks).T
cz = np.nan_to_num(comps)
med = np.median(cz[y == 0], 0)
q75, q25 = np.percentile(cz[y == 0], [75, 25], 0)
cz = (cz - med) / ((q75 - q25) / 1.349 + 1e-6)
others = [i for i, n in enumerate(names) if n != "features"]


def fit_nonneg(x, yy, l2):
    n, d = x.shape

    def f(w):
        z = x @ w[:d] + w[d]
        p = 1 / (1 + np.exp(-z))
        loss = -np.sum(yy * np.log(p + 1e-12) + (1 - yy) * np.log(1 - p + 1e-12))
        loss = (loss + l2 * np.sum(w[:d] ** 2)) / n
        g = (x.T @ (p - yy) + 2 * l2 * w[:d]) / n
        return loss, np.append(g, np.mean(p - yy))

    bounds = [(0, None)] * d + [(None, None)]
    return minimize(f, np.zeros(d + 1), jac=True, method="L-BFGS-B", bounds=bounds).x


def cv(x, l2, seed=0):
    p = np.zeros(len(y))
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(x, y):
        w = fit_nonneg(x[tr], y[tr], l2)
        p[te] = x[te] @ w[:-1]
    return roc_auc_score(y, p)


both = np.hstack([blocks, cz[:, others]])
alike = np.hstack([blocks.mean(1, keepdims=True), cz[:, others]])
for l2 in (0.1, 1, 10, 100, 1000):
    print(f"weighing blocks + components, L2 {l2}: {cv(both, l2):.4f}")
print(f"weighing blocks alike + components, L2 10: {cv(alike, 10):.4f}")
print("CV seeds (L2 10):", [round(cv(both, 10, s), 4) for s in range(5)])

# Candidates not in the shipped score: per-lead restoration errors, and the attribute
# gaps with their sign (predicted − actual, either direction allowed).
def robust_z(x):
    x = np.nan_to_num(x)
    m = np.median(x[y == 0], 0)
    hi, lo = np.percentile(x[y == 0], [75, 25], 0)
    return (x - m) / ((hi - lo) / 1.349 + 1e-6)


lead_err = robust_z(np.log(np.array(
    [[float(r[f"lead_err_{l}"]) for l in range(12)] for r in val]) + 1e-8))
attrs = ["age_years", "female", "heart_rate_bpm", "pr_ms", "qrs_ms", "qt_ms", "qtc_ms"]
signed = robust_z(np.array(
    [[float(r[f"pred_{a}"]) - float(r[f"actual_{a}"]) for a in attrs] for r in val]))
print(f"+ per-lead restoration errors: {cv(np.hstack([both, lead_err]), 10):.4f}")
print(f"+ signed attribute gaps: {cv(np.hstack([both, signed, -signed]), 10):.4f}")
