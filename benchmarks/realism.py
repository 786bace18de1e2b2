"""The realism rulers of the tabular benchmark, one implementation for every generator:

* ``quality_parts``: SDMetrics' QualityReport (overall, column shapes, column pair trends);
* ``detection_auc``: ROC AUC of a fixed HistGradientBoosting telling (up to) 10k real
  training rows from 10k synthetic rows, 5-fold (0.5: indistinguishable);
* ``dcr_share``: share of synthetic rows closer to a holdout-sized sample of the training
  rows than to the holdout (ties count half; 0.5: no closer to what was learnt);
* ``copy_rate``: share of rows equal to a training row in every column (compare with the
  holdout's own rate: real unseen rows repeat training rows too).

Distances: numbers quantile-transformed on the training rows (each in [0, 1]), labels 0 / 1
for equal / different (missing is a label), summed over columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _is_num(s: pd.Series) -> bool:
    return s.dtype.kind in "ifM"


def quality_parts(real: pd.DataFrame, synthetic: pd.DataFrame) -> dict[str, float]:
    from sdmetrics.reports.single_table import QualityReport

    def sdtype(s: pd.Series) -> str:
        return {"i": "numerical", "u": "numerical", "f": "numerical", "M": "datetime"}.get(
            s.dtype.kind, "categorical"
        )

    columns = {c: {"sdtype": sdtype(real[c])} for c in real.columns}
    report = QualityReport()
    report.generate(real, synthetic[real.columns], {"columns": columns}, verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    return {
        "quality": float(report.get_score()),
        "column_shapes": float(props["Column Shapes"]),
        "pair_trends": float(props["Column Pair Trends"]),
    }


def _classifier_frame(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    x = pd.concat([a, b], ignore_index=True)
    for c in x.columns:
        if _is_num(a[c]):
            x[c] = (
                x[c].astype("int64").astype(float) if a[c].dtype.kind == "M" else x[c].astype(float)
            )
        else:
            x[c] = pd.Categorical(x[c], categories=sorted(set(x[c].dropna().unique()), key=str))
            if len(x[c].cat.categories) > 250:  # HistGradientBoosting's limit: frequency codes
                x[c] = x[c].map(x[c].value_counts(normalize=True)).astype(float)
    return x


def detection_auc(
    real: pd.DataFrame, synthetic: pd.DataFrame, n: int = 10_000, seed: int = 0
) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    rng = np.random.default_rng(seed)
    r = real.iloc[rng.choice(len(real), min(n, len(real)), replace=False)]
    s = synthetic.iloc[rng.choice(len(synthetic), min(n, len(synthetic)), replace=False)][
        real.columns
    ]
    x = _classifier_frame(r.reset_index(drop=True), s.reset_index(drop=True))
    y = np.r_[np.zeros(len(r)), np.ones(len(s))]
    clf = HistGradientBoostingClassifier(random_state=0, categorical_features="from_dtype")
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    return float(cross_val_score(clf, x, y, cv=cv, scoring="roc_auc").mean())


class _Space:
    """Rows as (quantile-transformed numbers, label codes), fitted on the training rows."""

    def __init__(self, train: pd.DataFrame) -> None:
        from sklearn.preprocessing import QuantileTransformer

        self.num = [c for c in train.columns if _is_num(train[c])]
        self.cat = [c for c in train.columns if c not in self.num]
        self.qt = QuantileTransformer(n_quantiles=1000, subsample=10**9, random_state=0)
        self.qt.fit(self._numbers(train))
        self.levels = {
            c: {v: i for i, v in enumerate(train[c].astype(object).fillna("<NA>").unique())}
            for c in self.cat
        }

    def _numbers(self, df: pd.DataFrame) -> np.ndarray:
        cols = [
            df[c].astype("int64").astype(float) if df[c].dtype.kind == "M" else df[c].astype(float)
            for c in self.num
        ]
        x = np.column_stack(cols) if cols else np.zeros((len(df), 0))
        return np.where(np.isnan(x), -1e300, x)  # missing: below every number

    def encode(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        xn = (
            self.qt.transform(self._numbers(df)).astype(np.float32)
            if self.num
            else np.zeros((len(df), 0), np.float32)
        )
        xc = (
            np.column_stack(
                [
                    df[c]
                    .astype(object)
                    .fillna("<NA>")
                    .map(self.levels[c])
                    .fillna(-1)
                    .to_numpy(np.int32)
                    for c in self.cat
                ]
            )
            if self.cat
            else np.zeros((len(df), 0), np.int32)
        )
        return xn, xc

    @staticmethod
    def nearest(
        q: tuple[np.ndarray, np.ndarray], ref: tuple[np.ndarray, np.ndarray], chunk: int = 512
    ) -> np.ndarray:
        qn, qc = q
        rn, rc = ref
        out = np.empty(len(qn), np.float32)
        for s in range(0, len(qn), chunk):
            d = np.zeros((min(chunk, len(qn) - s), len(rn)), np.float32)
            for j in range(qn.shape[1]):
                d += np.abs(qn[s : s + chunk, j, None] - rn[None, :, j])
            for j in range(qc.shape[1]):
                d += qc[s : s + chunk, j, None] != rc[None, :, j]
            out[s : s + chunk] = d.min(1)
        return out


def dcr_share(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    seed: int = 0,
    max_holdout: int = 10_000,
    max_synthetic: int = 30_000,
) -> float:
    rng = np.random.default_rng(seed)

    def at_most(df: pd.DataFrame, k: int) -> pd.DataFrame:
        return df if len(df) <= k else df.iloc[rng.choice(len(df), k, replace=False)]

    hold = at_most(holdout, max_holdout)
    tr = train.iloc[rng.choice(len(train), min(len(hold), len(train)), replace=False)]
    syn = at_most(synthetic, max_synthetic)
    space = _Space(train)
    s = space.encode(syn[train.columns])
    dt = space.nearest(s, space.encode(tr))
    dh = space.nearest(s, space.encode(hold))
    return float(np.mean((dt < dh) + 0.5 * (dt == dh)))


def _row_keys(df: pd.DataFrame, cols: list[str]) -> pd.Series:
    parts = []
    for c in cols:
        v = df[c]
        if _is_num(v):
            v = (v.astype("int64") if v.dtype.kind == "M" else v.astype(float)).map(repr)
        parts.append(v.astype(object).where(df[c].notna(), "<NA>").astype(str))
    key = parts[0]
    for p in parts[1:]:
        key = key + "\x1f" + p
    return key


def copy_rate(train: pd.DataFrame, other: pd.DataFrame) -> float:
    cols = list(train.columns)
    known = set(_row_keys(train, cols))
    return float(_row_keys(other[cols], cols).isin(known).mean())
