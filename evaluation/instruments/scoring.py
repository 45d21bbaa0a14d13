"""Scores from item answers, following an instrument's definition.

Rules that change a number are visible in the output: every score comes with the number of items
it used (``<score>_n_items``) and whether it was prorated (``<score>_prorated``), so a reader can
see which rows rest on fewer items than the instrument has.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.errors import ParameterError
from evaluation.instruments.definition import OPERATORS, Instrument, Score


def score_instrument(data: pd.DataFrame, instrument: Instrument, *,
                     apply_cutoffs: bool = True) -> pd.DataFrame:
    """Every score, n-items, prorated flag and cutoff flag of ``instrument`` for each row.

    Returns a DataFrame on ``data``'s index (join it to the data). Reverse-keyed items are
    reversed (``min + max − x``) before scoring; the data itself is not changed.

    Examples
    --------
    >>> from evaluation.instruments import load_instrument
    >>> ors = load_instrument("ors")
    >>> df = pd.DataFrame({"ors_1": [5.0, 2.5], "ors_2": [6.0, None], "ors_3": [4.0, 3.0],
    ...                    "ors_4": [5.5, 1.0]})
    >>> score_instrument(df, ors)[["ors_total", "ors_total_n_items", "ors_clinical_range"]]
       ors_total  ors_total_n_items  ors_clinical_range
    0       20.5                  4                True
    1        NaN                  3                <NA>
    """
    items = keyed_items(data, instrument)
    out = pd.DataFrame(index=data.index)
    for score in instrument.scores.values():
        values, n_items, prorated = _score(items, data, score, instrument)
        out[score.column] = values
        out[f"{score.column}_n_items"] = n_items
        if score.prorate or score.method in {"mean", "important_mean"}:
            out[f"{score.column}_prorated"] = prorated
    if apply_cutoffs:
        for cutoff in instrument.cutoffs.values():
            if not cutoff.apply:
                continue
            if cutoff.score == "any_item":
                numeric = [i.key for i in instrument.items.values()
                           if i.type in {"number", "integer"} and i.key in items]
                hits = OPERATORS[cutoff.operator](items[numeric], cutoff.value)
                flag = hits.any(axis=1).astype("boolean")
                flag[items[numeric].isna().all(axis=1)] = pd.NA
            else:
                col = out[instrument.scores[cutoff.score].column]
                flag = pd.Series(cutoff.compare(col), index=out.index).astype("boolean")
                flag[col.isna()] = pd.NA
            out[cutoff.flag] = flag
    return out


def keyed_items(data: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Numeric item answers with reverse keys applied (a copy): what scores and reliability
    coefficients are computed from."""
    cols = {}
    for item in instrument.items.values():
        if item.type not in {"number", "integer", "binary"}:
            continue
        if item.key not in data.columns:
            if not item.required:   # an optional item the export does not have: all missing
                cols[item.key] = pd.Series(np.nan, index=data.index)
            continue
        x = pd.to_numeric(data[item.key], errors="coerce").astype(float)
        if item.key in instrument.reverse:
            if item.min is None or item.max is None:
                raise ParameterError(f"Instrument {instrument.name}: reverse-keyed item "
                                     f"{item.key!r} needs min and max.")
            x = item.min + item.max - x
        cols[item.key] = x
    return pd.DataFrame(cols, index=data.index)


def _score(items: pd.DataFrame, data: pd.DataFrame, score: Score, instrument: Instrument):
    absent = [i for i in score.items if i not in items.columns]
    if absent:
        raise ParameterError(f"Instrument {instrument.name}, score {score.name}: item column(s) "
                             f"{absent} are not in the data.")
    x = items[list(score.items)]
    k = len(score.items)
    answered = x.notna().sum(axis=1)
    if score.method == "important_mean":
        absent = [f for f in score.importance if f not in data.columns]
        if absent:
            raise ParameterError(f"Instrument {instrument.name}, score {score.name}: the "
                                 f"'important to me' column(s) {absent} are not in the data; the "
                                 f"score uses only the items a person marks as important.")
        important = pd.DataFrame({i: pd.to_numeric(data[f], errors="coerce").to_numpy() == 1
                                  for i, f in zip(score.items, score.importance)}, index=x.index)
        x = x.where(important)
        answered = x.notna().sum(axis=1)
        k = important.sum(axis=1)
    min_items = score.min_items if score.min_items is not None else (
        1 if score.method in {"gas_tscore", "important_mean"} else k)
    enough = answered >= min_items
    prorated = enough & (answered < k)
    if score.method == "sum":
        total = x.sum(axis=1, min_count=1)
        # Prorating (sum × k / answered) only where the definition allows it.
        values = np.where(answered == k, total,
                          np.where(enough & score.prorate, total * k / answered.where(answered > 0), np.nan))
        if not score.prorate:
            prorated = pd.Series(False, index=x.index)
    elif score.method in {"mean", "important_mean"}:
        values = np.where(enough, x.mean(axis=1), np.nan)
    elif score.method == "count":
        hits = OPERATORS[score.operator](x, score.value) & x.notna()
        values = np.where(enough, hits.sum(axis=1), np.nan)
    elif score.method == "gas_tscore":
        values = _gas_tscore(x, data, score)
        values = np.where(enough, values, np.nan)
    else:  # parse_instrument rejects other methods
        raise ParameterError(f"unknown scoring method {score.method!r}")
    # Sums of one-decimal items carry binary floating-point error (5.7 + 3.4 + 9.2 + 6.7 gives
    # 24.999999999999996); rounding far below any item's precision makes a total of exactly
    # 25 compare as 25 against a cutoff.
    values = pd.Series(values, index=x.index, dtype=float).round(9)
    if score.rescale:
        lo, hi = score.rescale
        values = (values - lo) / (hi - lo) * 100
    return values, answered.astype(int), prorated.astype(bool)


def _gas_tscore(x: pd.DataFrame, data: pd.DataFrame, score: Score) -> np.ndarray:
    """Kiresuk–Sherman T = 50 + 10 Σwᵢxᵢ / sqrt((1 − ρ) Σwᵢ² + ρ (Σwᵢ)²), over answered goals.

    Weights come from the columns named in ``weights:`` (one per goal) when the data has them,
    else 1; a row whose weights are all 0 uses 1, as gasr's ``calc_tscore`` does. Hand-written
    because no Python library implements GAS.
    """
    w = pd.DataFrame(1.0, index=x.index, columns=x.columns)
    for item, wcol in zip(score.items, score.weights):
        if wcol in data.columns:
            w[item] = pd.to_numeric(data[wcol], errors="coerce").fillna(1.0).to_numpy()
    # Goals not scored are dropped first; a row whose remaining weights are all 0 uses 1.
    w = w.where(x.notna())
    w[(w.fillna(0) == 0).all(axis=1)] = 1.0
    w = w.where(x.notna())
    num = (w * x).sum(axis=1, min_count=1)
    den = np.sqrt((1 - score.rho) * (w ** 2).sum(axis=1) + score.rho * w.sum(axis=1) ** 2)
    return (50 + 10 * num / den.where(den > 0)).to_numpy()
