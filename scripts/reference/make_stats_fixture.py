#!/usr/bin/env python3
"""Oracle for Tessera's verdict statistics (PairedStatistics.swift): scipy's Student t
distribution and paired t intervals, and the two one-sided tests (TOST) for equivalence.
For a set of seeded paired samples: the per-pair differences, their mean, the t interval at the
two-sided level (scipy.stats.t.interval with the standard error of the mean), and the TOST
p-value against ±margin (the larger of the two one-sided scipy.stats.ttest_1samp p-values); an
equivalence verdict "held" at the level needs p < (1 − level)/2, which is the interval lying
inside (−margin, margin). Also t quantiles and CDF values over degrees of freedom.
Writes Tests/TesseraCoreTests/Fixtures/paired_stats.json.
Usage: pip install scipy==1.17.1 numpy && scripts/reference/make_stats_fixture.py
"""
import json
import os

import numpy as np
from scipy import stats

rng = np.random.default_rng(14)
cases = []
for n, shift, spread, margin, level in [
    (2, 0.01, 0.02, 0.03, 0.90), (3, 0.004, 0.005, 0.03, 0.90), (3, 0.05, 0.004, 0.03, 0.90),
    (3, 0.02, 0.03, 0.03, 0.90), (5, -0.1, 0.05, 0.03, 0.95), (8, 0.0, 0.01, 0.02, 0.90),
    (4, 0.031, 0.001, 0.03, 0.80), (12, -0.02, 0.1, 0.05, 0.99),
]:
    a = rng.normal(1.2, 0.05, n)
    b = a - shift - rng.normal(0, spread, n)
    d = a - b
    sem = stats.sem(d)
    lo, hi = stats.t.interval(level, n - 1, loc=d.mean(), scale=sem)
    p_lower = stats.ttest_1samp(d, -margin, alternative="greater").pvalue
    p_upper = stats.ttest_1samp(d, margin, alternative="less").pvalue
    cases.append({"a": a.tolist(), "b": b.tolist(), "level": level, "margin": margin,
                  "mean": float(d.mean()), "sd": float(d.std(ddof=1)), "lower": float(lo), "upper": float(hi),
                  "tost_p": float(max(p_lower, p_upper))})
quantiles = []
for df in [1, 2, 3, 4, 5, 7, 10, 20, 30, 99, 1000]:
    for p in [0.6, 0.9, 0.95, 0.975, 0.995, 0.05]:
        quantiles.append({"df": df, "p": p, "t": float(stats.t.ppf(p, df))})
cdf = [{"df": df, "t": t, "p": float(stats.t.cdf(t, df))} for df in [1, 2, 3.5, 9, 40] for t in [-4.0, -1.3, 0.0, 0.7, 2.2, 12.0]]
here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "../../Tests/TesseraCoreTests/Fixtures/paired_stats.json")
with open(out, "w") as f:
    json.dump({"scipy": __import__("scipy").__version__, "paired": cases, "quantiles": quantiles, "cdf": cdf}, f, indent=1)
print(out)
