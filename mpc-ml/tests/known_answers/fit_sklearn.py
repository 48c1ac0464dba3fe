"""scikit-learn's figures for mpc-ml/tests/known_answers.rs (its known answers).

Run from the repository root, after the Rust side wrote the data sets' rows:

    cargo test -p mpc-ml --test known_answers -- --ignored export
    python mpc-ml/tests/known_answers/fit_sklearn.py > mpc-ml/tests/known_answers/sklearn.json

For each logistic data set: the test accuracy of `LogisticRegression()` (C = 1, lbfgs) on the standardized
features (`StandardScaler`: the population standard deviation, as the project's standardization), and
with `tol = 1e-10` its converged weights on the standardized features with the intercept last, and, for reference, the test accuracy of
`LogisticRegression()` on the raw features (what a user gets without scaling; lbfgs may stop at its default
100 iterations there). For diabetes: the test R^2 of `LinearRegression()`.
"""
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.preprocessing import StandardScaler

DIR = Path(__file__).resolve().parents[3] / "target" / "known_answers"


def load(name, part):
    df = pd.read_csv(DIR / f"{name}_{part}.csv")
    return df.drop(columns=["y"]).to_numpy(float), df["y"].to_numpy(float)


out = {"sklearn": sklearn.__version__, "logistic": {}, "linear": {}}
for name in ["breast_cancer", "wide64", "scales12", "rare20"]:
    x, y = load(name, "train")
    xt, yt = load(name, "test")
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(scaler.transform(x), y)
    default = LogisticRegression().fit(scaler.transform(x), y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = LogisticRegression().fit(x, y)
    out["logistic"][name] = {
        "train_rows": len(y),
        "test_rows": len(yt),
        "positives": float(y.mean()),
        "accuracy": float(default.score(scaler.transform(xt), yt)),
        "accuracy_converged": float(model.score(scaler.transform(xt), yt)),
        "accuracy_raw": float(raw.score(xt, yt)),
        "weights_standardized": [float(v) for v in np.append(model.coef_[0], model.intercept_[0])],
    }
x, y = load("diabetes", "train")
xt, yt = load("diabetes", "test")
out["linear"]["diabetes"] = {"r2": float(LinearRegression().fit(x, y).score(xt, yt))}
json.dump(out, sys.stdout, indent=1)
print()
