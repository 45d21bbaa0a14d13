"""Inter-coder agreement on coded segments, per code and across codes, with bootstrap CIs.

Each code is a presence/absence variable: for every coder who saw a unit, did they give it
the code? When every coder gives each unit at most one code, the codes themselves (and "no
code") are also one nominal variable, reported as code ``"*"``.

Every measure here is a ratio of sums over units of a few per-unit numbers (category counts,
pairs in agreement), so one matrix product of bootstrap weights with those numbers (one per set
of units) gives every measure for every code and every resample at once. The point estimate
is the same product with weights of one, so the estimate and its CI come from one formula. The
formulas are checked against ``krippendorff.alpha`` and ``statsmodels.stats.inter_rater`` in
``tests/test_coding_agreement.py``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.coding.segments import read_segments, segment_codebook
from evaluation.constraints import Interval, Options, validate_params
from evaluation.errors import ParameterError
from evaluation.estimates import measure_table

MEASURES = ("percent", "cohen", "fleiss", "alpha")
EXTRA = ["n_units", "n_coders", "units"]
COLUMNS = ["code", "measure", "scale", "estimate", "ci_low", "ci_high", "n", "note", *EXTRA]
"""A measure table keyed by ``code``: ``n`` (and ``n_units``) the units a value rests on."""
SCALE = {"percent": "agreement (percent of coder pairs, 0–100)"}
ALL_CODES = "*"
_CHUNK_CELLS = 4_000_000        # bootstrap weights held at once (32 MB of float64)


@validate_params({"units": [Options({"coded", "seen"})],
                  "n_boot": [Interval(0, None, integral=True)],
                  "confidence": [Interval(0, 1, closed="neither")]})
def agreement(segments, *, measures=None, codes=None, units: str = "coded", n_boot: int = 1000,
              seed: int = 0, confidence: float = 0.95) -> pd.DataFrame:
    """Agreement between coders, per code and across codes, with percentile bootstrap CIs.

    Parameters
    ----------
    segments : DataFrame or path
        Coded segments (``read_segments``; a frame not read by it is checked by it first).
    measures : sequence of str, optional
        Any of ``"percent"`` (pairwise percent agreement, averaged over units, 0–100),
        ``"cohen"`` (Cohen's kappa, exactly two coders), ``"fleiss"`` (Fleiss' kappa) and
        ``"alpha"`` (Krippendorff's alpha, nominal). Default: percent, Cohen's kappa for two
        coders or Fleiss' kappa for more, and alpha.
    codes : sequence of str, optional
        Codes to report (default: every code given, then ``"*"`` when it applies).
    units : {"coded", "seen"}
        Which units the per-code measures use. ``"coded"`` (default): units that someone gave
        any code, so that the many units nobody coded do not pass for agreement on every code
        (QualCoder #667); ``"seen"``: every unit at least two coders saw.
    n_boot : int
        Bootstrap resamples of units (0: no CI).
    seed : int
        Seed of the resampling.
    confidence : float
        Level of the percentile interval.

    Returns
    -------
    DataFrame
        A measure table, a row per code × measure: code, measure, scale ("agreement"),
        estimate, ci_low, ci_high, n (units the value rests on), note, then n_units (the same
        number), n_coders and units.

    Notes
    -----
    For a variable with categories k, unit u has n_uk values in k and m_u values in all (its
    coders). With n = Σ m_u and o_kk = Σ_u n_uk (n_uk − 1) / (m_u − 1) (the coincidence
    matrix's diagonal), nominal alpha = 1 − (n − 1)(n − Σ_k o_kk) / (n² − Σ_k n_k²)
    (Krippendorff 2011). Percent agreement is the share of agreeing coder pairs per unit,
    averaged over units. Fleiss' kappa needs the same number of coders on every unit, so it
    uses only the units every coder saw (n_units says how many). Only units that at least two
    coders saw can show agreement; the others are left out of every measure.

    Code ``"*"`` always uses every unit two or more coders saw, including units nobody coded:
    there "no code" is a category like the codes, and leaving out the units on which every
    coder chose it would select units by their agreement (and bias alpha down).

    The CI is the percentile interval of the measure over ``n_boot`` resamples of units (with
    replacement), the same resamples for every code and measure.

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
    Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychol Bull 76.
    Cohen, J. (1960). A coefficient of agreement for nominal scales. Educ Psychol Meas 20.

    Examples
    --------
    Krippendorff's (2011) example, 4 coders and 12 units with missing values; alpha = 0.743
    (in R: ``irr::kripp.alpha(m, "nominal")``; tested against the ``krippendorff`` package):

    >>> data = {"A": "1 2 3 3 2 1 4 1 2 . . .", "B": "1 2 3 3 2 2 4 1 2 5 . 3",
    ...         "C": ". 3 3 3 2 3 4 2 2 5 1 .", "D": "1 2 3 3 2 4 4 1 2 5 1 ."}
    >>> seg = pd.DataFrame([(u, c, v) for c, s in data.items()
    ...                     for u, v in enumerate(s.split()) if v != "."],
    ...                    columns=["unit_id", "coder", "code"])
    >>> res = agreement(seg, codes=["*"], n_boot=200)
    >>> res[["code", "measure", "estimate", "n_units", "n_coders"]].round(3)
      code  measure  estimate  n_units  n_coders
    0    *  percent    81.818       11         4
    1    *   fleiss     0.641        8         4
    2    *    alpha     0.743       11         4
    """
    seg = segments if _validated(segments) else read_segments(segments)
    layout = _Layout(seg)
    if len(layout.coders) < 2:
        raise ParameterError(f"agreement needs at least two coders; the segments have "
                             f"{len(layout.coders)} ({', '.join(layout.coders)}).")
    measures = _check_measures(measures, len(layout.coders))
    wanted = layout.select(codes)
    rng = np.random.default_rng(seed)
    rows = []
    per_code = [c for c in wanted if c != ALL_CODES]
    if per_code:
        keep = layout.pairable & (layout.coded if units == "coded" else True)
        variables = [(c, layout.presence(c)) for c in per_code]
        note = ("units someone coded (any code) and 2+ coders saw; "
                f"{int((layout.pairable & ~keep).sum())} such units nobody coded left out"
                if units == "coded" else "every unit 2+ coders saw")
        rows += _estimate(variables, keep, 2, measures, n_boot, rng, confidence,
                          f"presence of the code; {note}", units)
    if ALL_CODES in wanted:
        rows += _estimate([(ALL_CODES, layout.categories)], layout.pairable,
                          len(layout.codes) + 1, measures, n_boot, rng, confidence,
                          "categories: the codes and no code; every unit 2+ coders saw, "
                          "including units nobody coded", "seen")
    out = measure_table(rows, keys=["code"], extra=EXTRA) if rows else \
        pd.DataFrame(columns=COLUMNS)
    out.attrs.update(confidence=confidence, n_boot=int(n_boot), seed=seed,
                     ci_method="percentile bootstrap over units", coders=layout.coders)
    return out


def disagreements(segments, *, codes=None) -> pd.DataFrame:
    """Units on which the coders who saw them disagree about a code: the agenda of the
    coders' reconciliation meeting.

    An internal working list, not for publication: it quotes the segments' text and names
    the coders.

    Returns
    -------
    DataFrame
        A row per unit × code: unit_id, interview, code, coders_with, coders_without (names,
        comma-separated) and text (the first 80 characters of the segment).

    Examples
    --------
    >>> seg = pd.DataFrame({"unit_id": ["u1", "u1", "u2", "u2"], "coder": ["Ida", "Per"] * 2,
    ...                     "code": ["goal", "", "goal", "goal"],
    ...                     "text": ["Målene er mine nå."] * 2 + ["Jeg bestemte selv."] * 2})
    >>> disagreements(seg)[["unit_id", "code", "coders_with", "coders_without", "text"]]
      unit_id  code coders_with coders_without                text
    0      u1  goal         Ida            Per  Målene er mine nå.
    """
    seg = segments if _validated(segments) else read_segments(segments)
    layout = _Layout(seg)
    first = seg.groupby("unit_id", sort=False).first()
    names = np.array(layout.coders, dtype=object)
    rows = []
    for code in [c for c in layout.select(codes) if c != ALL_CODES]:
        present = layout.presence(code)
        split = (present == 1).any(axis=1) & (present == 0).any(axis=1)
        for u in np.flatnonzero(split):
            unit = layout.units[u]
            text = first.at[unit, "text"] if "text" in first.columns else pd.NA
            rows.append({"unit_id": unit,
                         "interview": first.at[unit, "interview"]
                         if "interview" in first.columns else pd.NA,
                         "code": code,
                         "coders_with": ", ".join(names[present[u] == 1]),
                         "coders_without": ", ".join(names[present[u] == 0]),
                         "text": text[:80] if isinstance(text, str) else pd.NA})
    out = pd.DataFrame(rows, columns=["unit_id", "interview", "code", "coders_with",
                                      "coders_without", "text"])
    return out.sort_values(["interview", "unit_id", "code"], kind="stable",
                           na_position="first").reset_index(drop=True)


def nominal_alpha(reliability_data, weights=None):
    """Krippendorff's alpha (nominal) of a coders × units matrix (NaN: not coded), optionally
    for many sets of unit weights at once (a bootstrap).

    The hand-written part of this module, kept public so that it can be checked against the
    ``krippendorff`` package: ``weights`` of shape (B, units) give B alphas, as if each unit
    were repeated that many times. Units with fewer than two values carry no information.

    >>> nominal_alpha([[1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan, np.nan, np.nan],
    ...                [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, np.nan, 3],
    ...                [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, np.nan],
    ...                [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, np.nan]]).round(3)
    np.float64(0.743)
    """
    data = np.asarray(reliability_data, dtype=float).T
    pairable = (~np.isnan(data)).sum(axis=1) >= 2
    values = np.unique(data[~np.isnan(data)])
    coded = np.where(np.isnan(data), -1, np.searchsorted(values, np.nan_to_num(data)))[pairable]
    stats = _unit_stats(coded, len(values), ("alpha",))["alpha"]
    w = np.ones((1, len(data))) if weights is None else np.atleast_2d(weights).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = _alpha(w[:, pairable] @ stats, len(values), None)
    return result[0] if weights is None else result


# -- the engine ---------------------------------------------------------------------------------

class _Layout:
    """Who saw which unit and what they gave it, as arrays: units × coders (× codes)."""

    def __init__(self, seg: pd.DataFrame):
        self.coders = sorted(seg["coder"].unique())
        u, self.units = pd.factorize(seg["unit_id"])
        r = pd.Index(self.coders).get_indexer(seg["coder"])
        book = segment_codebook(seg)
        given = set(seg["code"]) - {""}
        order = list(book["code"]) if book is not None else []
        self.codes = [c for c in order if c in given] + sorted(given - set(order))
        self.known = set(order) | given
        self._u, self._r = u, r
        self.seen = np.zeros((len(self.units), len(self.coders)), dtype=bool)
        self.seen[u, r] = True
        self.pairable = self.seen.sum(axis=1) >= 2
        c = pd.Index([""] + self.codes).get_indexer(seg["code"])
        self.coded = np.bincount(u[c > 0], minlength=len(self.units)) > 0
        self._c = c
        per_cell = np.bincount((u * len(self.coders) + r)[c > 0],
                               minlength=self.seen.size).reshape(self.seen.shape)
        self.single = bool((per_cell <= 1).all())
        self.categories = None
        if self.single:
            cat = np.where(self.seen, 0, -1)
            cat[u[c > 0], r[c > 0]] = c[c > 0]
            self.categories = cat

    def presence(self, code: str) -> np.ndarray:
        """units × coders: 1 code given, 0 seen without it, -1 not seen."""
        out = np.where(self.seen, 0, -1).astype(np.int8)
        if code in self.codes:
            hit = self._c == self.codes.index(code) + 1
            out[self._u[hit], self._r[hit]] = 1
        return out

    def select(self, codes) -> list[str]:
        if codes is None:
            return self.codes + ([ALL_CODES] if self.single else [])
        codes = [codes] if isinstance(codes, str) else list(codes)
        unknown = [c for c in codes if c != ALL_CODES and c not in self.known]
        if unknown:
            raise ParameterError(f"code(s) {', '.join(map(repr, unknown))} are neither given in "
                                 f"the segments nor in their codebook; the codes given: "
                                 f"{', '.join(self.codes)}.")
        if ALL_CODES in codes and not self.single:
            raise ParameterError("code '*' (agreement across codes) needs every coder to give "
                                 "each unit at most one code; some gave several.")
        return codes


def _check_measures(measures, n_coders: int) -> tuple:
    if measures is None:
        return ("percent", "cohen" if n_coders == 2 else "fleiss", "alpha")
    measures = (measures,) if isinstance(measures, str) else tuple(measures)
    bad = [m for m in measures if m not in MEASURES]
    if bad:
        raise ParameterError(f"unknown measure(s) {', '.join(map(repr, bad))}; choose from "
                             f"{', '.join(MEASURES)}.")
    if "cohen" in measures and n_coders != 2:
        raise ParameterError(f"Cohen's kappa is for exactly two coders; the segments have "
                             f"{n_coders}. Use 'fleiss' or 'alpha', or select two coders.")
    return measures


def _unit_stats(cat: np.ndarray, k: int, measures) -> dict:
    """Per-unit numbers whose sums over units give each measure (rows: units, -1: unseen).

    Pairs and coincidences are counted per unit from the category counts n_uk, so the
    cost is units × categories whatever the number of coders.
    """
    n = (cat[:, :, None] == np.arange(k)).sum(axis=1).astype(float)
    m = n.sum(axis=1)
    same = (n * (n - 1)).sum(axis=1)
    one = np.ones(len(cat))
    stats = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for measure in measures:
            if measure == "percent":
                stats[measure] = np.column_stack([one, same / (m * (m - 1))])
            elif measure == "alpha":
                stats[measure] = np.column_stack([m, same / (m - 1), n])
            elif measure == "fleiss":
                r = cat.shape[1]
                full = (m == r).astype(float)
                stats[measure] = np.column_stack([full, full * same / (r * (r - 1)),
                                                  full[:, None] * n])
            else:   # cohen: the two coders' categories, one-hot, and whether they agree
                a = (cat[:, [0]] == np.arange(k)).astype(float)
                b = (cat[:, [1]] == np.arange(k)).astype(float)
                stats[measure] = np.column_stack([one, cat[:, 0] == cat[:, 1], a, b])
    return stats


def _percent(t, k, r):
    return 100 * t[:, 1] / t[:, 0]


def _alpha(t, k, r):
    n, diag, nk = t[:, 0], t[:, 1], t[:, 2:]
    return 1 - (n - 1) * (n - diag) / (n ** 2 - (nk ** 2).sum(axis=1))


def _fleiss(t, k, r):
    units, p_bar = t[:, 0], t[:, 1] / t[:, 0]
    p_e = ((t[:, 2:] / (units * r)[:, None]) ** 2).sum(axis=1)
    return (p_bar - p_e) / (1 - p_e)


def _cohen(t, k, r):
    units, agree, a, b = t[:, 0], t[:, 1], t[:, 2:2 + k], t[:, 2 + k:]
    p_e = (a * b).sum(axis=1) / units ** 2
    return (agree / units - p_e) / (1 - p_e)


_MEASURE_FUNCS = {"percent": _percent, "alpha": _alpha, "fleiss": _fleiss, "cohen": _cohen}


def _estimate(variables, keep, k, measures, n_boot, rng, confidence, note, units) -> list[dict]:
    """Every measure of every variable on the units in ``keep``, with one shared bootstrap."""
    n_coders_all = variables[0][1].shape[1]
    blocks, layout = [], []
    for name, cat in variables:
        cat = cat[keep]
        for measure, block in _unit_stats(cat, k, measures).items():
            layout.append((name, measure, sum(b.shape[1] for b in blocks), block.shape[1]))
            blocks.append(block)
    stats = np.nan_to_num(np.hstack(blocks))     # 0/0 of units with < 2 coders: none are kept
    n_units = stats.shape[0]
    totals = stats.sum(axis=0, keepdims=True)
    boot = _bootstrap_totals(stats, n_boot, rng) if n_units and n_boot else None
    lo_q, hi_q = (1 - confidence) / 2, 1 - (1 - confidence) / 2
    seen = variables[0][1][keep] >= 0
    n_coders = int(seen.any(axis=0).sum())
    rows = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, measure, start, width in layout:
            func = _MEASURE_FUNCS[measure]
            value = float(func(totals[:, start:start + width], k, n_coders_all)[0])
            low = high = np.nan
            notes = [note]
            if measure == "fleiss":
                notes.append(f"only units seen by all {n_coders_all} coders (Fleiss' kappa needs "
                             f"the same coders on every unit)")
            if boot is not None:
                reps = func(boot[:, start:start + width], k, n_coders_all)
                finite = reps[np.isfinite(reps)]
                if len(finite):
                    low, high = np.quantile(finite, [lo_q, hi_q])
                if len(finite) < len(reps):
                    notes.append(f"CI from {len(finite)} of {len(reps)} resamples (the others "
                                 f"had no variation)")
            if not np.isfinite(value):
                value = np.nan
                notes.append("undefined: no variation (every value the same) or no units")
            used = int(totals[0, start]) if measure == "fleiss" else n_units
            rows.append({"code": name, "measure": measure,
                         "scale": SCALE.get(measure, "agreement"), "estimate": value,
                         "ci_low": low, "ci_high": high, "n": used, "note": "; ".join(notes),
                         "n_units": used, "n_coders": n_coders, "units": units})
    return rows


def _bootstrap_totals(stats: np.ndarray, n_boot: int, rng) -> np.ndarray:
    """Column sums of ``stats`` for ``n_boot`` resamples of its rows, as weights @ stats.

    A resample is a row of counts (how often each unit was drawn), built with one bincount
    for a chunk of resamples, so the whole bootstrap is a few matrix products.
    """
    n = stats.shape[0]
    chunk = max(1, _CHUNK_CELLS // n)
    out = np.empty((n_boot, stats.shape[1]))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        draws = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
        weights = np.bincount(draws.ravel(), minlength=b * n).reshape(b, n).astype(float)
        out[start:start + b] = weights @ stats
    return out


def _validated(segments) -> bool:
    return isinstance(segments, pd.DataFrame) and segments.attrs.get("segments_validated", False)
