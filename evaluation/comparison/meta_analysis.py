"""Random-effects meta-analysis of per-institution (or per-programme) estimates.

A batch run per institution gives one estimate with its CI per institution; the question "what is
the effect across institutions, and how much does it vary?" is a random-effects meta-analysis:
the pooled mean, the between-institution variance τ², I², Cochran's Q, and a prediction interval
for the effect in a new institution (Higgins, Thompson & Spiegelhalter 2009), which with few and
different institutions is the honest summary.

References
----------
DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. Controlled Clinical Trials
7:177-188.

Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators in the
random-effects model. Journal of Educational and Behavioral Statistics 30(3):261-293.

Higgins JPT, Thompson SG, Spiegelhalter DJ (2009). A re-evaluation of random-effects
meta-analysis. Journal of the Royal Statistical Society A 172(1):137-159.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from evaluation.constraints import Interval, Options, check_param, require_frame, validate_params
from evaluation.disclosure import DisclosureRules
from evaluation.errors import ParameterError
from evaluation.estimates import MEASURE_COLUMNS, SCALES, measure_table

METHODS = ("REML", "DL", "PM")
POOLED = "pooled effect (random effects)"
SUMMARY_EXTRA = ["se", "z", "p_value", "pi_low", "pi_high", "tau2", "i2_percent", "h2", "q",
                 "q_df", "q_p", "k", "method", "analysis_scale", "prediction"]
SUMMARY_COLUMNS = MEASURE_COLUMNS + SUMMARY_EXTRA
"""The measure contract's columns (``measure`` :data:`POOLED`), then the meta-analysis's own;
``analysis_scale`` is 'linear' or 'log' (ratios pooled on the log scale)."""


def effect_scale(analysis_scale: str, name: str = "") -> str:
    """The contract's ``scale`` of a pooled effect: the last part of a record name such as
    ``daily_chaos/AIPW/ATE/mean difference`` when it is one of the contract's scales, else
    "ratio" for effects pooled on the log scale and "mean difference" otherwise."""
    last = str(name).rsplit("/", 1)[-1]
    if last.split(" (")[0] in SCALES:
        return last
    return "ratio" if analysis_scale == "log" else "mean difference"


@dataclass(frozen=True, eq=False)
class MetaResult:
    """A random-effects meta-analysis. ``estimate``, the CI and the prediction interval are on
    the data's own scale (ratios for ``scale="log"``); ``se``, ``z`` and ``tau2`` on the
    analysis scale (the log for ratios). ``studies`` holds each study's estimate, CI, SE and
    weight (percent); ``to_frame()`` gives the one-row summary table."""

    estimate: float
    ci_low: float
    ci_high: float
    se: float
    z: float
    p_value: float
    pi_low: float
    pi_high: float
    tau2: float
    i2_percent: float
    h2: float
    q: float
    q_df: int
    q_p: float
    k: int
    n: float
    method: str
    scale: str
    prediction: str
    confidence: float
    studies: pd.DataFrame = field(repr=False)
    notes: tuple = ()

    def to_frame(self, name: str = "") -> pd.DataFrame:
        """The one-row summary as a measure table (``scale`` from :func:`effect_scale`)."""
        row = {c: getattr(self, c) for c in SUMMARY_EXTRA if c != "analysis_scale"}
        row.update(measure=POOLED, estimate=self.estimate, ci_low=self.ci_low,
                   ci_high=self.ci_high, n=self.n, note="; ".join(self.notes),
                   analysis_scale=self.scale, scale=effect_scale(self.scale, name))
        return measure_table([row], extra=SUMMARY_EXTRA)


def reml_tau2(y, v, *, tol: float = 1e-10, max_iter: int = 100) -> tuple[float, bool]:
    """REML estimate of the between-study variance τ² (Fisher scoring), and whether it
    converged.

    statsmodels' ``combine_effects`` offers DerSimonian–Laird and Paule–Mandel only, and
    ``MixedLM`` cannot hold the known, unequal within-study variances fixed, so REML (metafor's
    default) is done here by hand: with :math:`w_i = 1/(v_i + \\tau^2)` and
    :math:`P = W - W\\mathbf 1\\mathbf 1'W / \\sum w_i`, the step is
    :math:`\\tau^2 \\leftarrow \\tau^2 + (y'PPy - \\operatorname{tr}P) / \\operatorname{tr}(PP)`,
    truncated at 0, from the DerSimonian–Laird value (Viechtbauer 2005).

    Examples
    --------
    >>> tau2, converged = reml_tau2([0.1, 0.5, -0.2, 0.8], [0.04, 0.05, 0.06, 0.05])
    >>> round(tau2, 4), converged
    (0.1364, True)
    """
    y, v = np.asarray(y, dtype=float), np.asarray(v, dtype=float)
    tau2 = max(float(combine_effects(y, v, method_re="dl").tau2), 0.0)
    for _ in range(max_iter):
        w = 1 / (v + tau2)
        sw = w.sum()
        resid = y - (w * y).sum() / sw
        py = w * resid                                   # P y for an intercept-only model
        trace_p = sw - (w ** 2).sum() / sw
        trace_pp = (w ** 2).sum() - 2 * (w ** 3).sum() / sw + ((w ** 2).sum() / sw) ** 2
        new = max(0.0, tau2 + (py @ py - trace_p) / trace_pp)
        if abs(new - tau2) < tol:
            return float(new), True
        tau2 = new
    return float(tau2), False


@validate_params({"confidence": [Interval(0, 1, closed="neither")]})
def meta_analysis(data: pd.DataFrame, *, estimate: str = "estimate", se: str | None = None,
                  ci_low: str = "ci_low", ci_high: str = "ci_high", label: str | None = None,
                  n: str | None = "n", method: str = "REML", scale: str = "linear",
                  confidence: float = 0.95, prediction: str = "t") -> MetaResult:
    """Random-effects meta-analysis of one estimate per row.

    Parameters
    ----------
    data : DataFrame
        A row per study (institution, programme).
    estimate, se : str
        Columns of the estimate and its standard error; without ``se`` the SE is derived from
        the CI, ``(ci_high − ci_low) / (2 z)``, on the analysis scale.
    ci_low, ci_high : str
        CI columns, used when ``se`` is None; taken to be ``confidence`` intervals.
    label : str, optional
        Study label column (default the row index).
    n : str, optional
        People per study, summed into ``n`` when the column exists.
    method : {'REML', 'DL', 'PM'}
        τ² estimator: restricted maximum likelihood (by hand, :func:`reml_tau2`),
        DerSimonian–Laird or Paule–Mandel (statsmodels ``combine_effects``).
    scale : {'linear', 'log'}
        ``'log'`` for ratios (odds, risk ratios): estimates and CIs are given as ratios, pooled
        on the log scale and returned as ratios; an ``se`` column is then on the log scale.
    prediction : {'t', 'z'}
        Prediction interval :math:`\\hat\\mu \\pm q\\sqrt{\\hat\\tau^2 + SE^2}` with q from t
        on k − 2 df (Higgins, Thompson & Spiegelhalter 2009; needs k ≥ 3) or the normal
        (metafor's default).

    Returns
    -------
    MetaResult
        ``.to_frame()`` for the one-row table, ``.studies`` for the forest plot.

    Notes
    -----
    Weights :math:`1/(v_i + \\hat\\tau^2)`; Wald (z) CI and p-value of the pooled mean, as
    metafor's ``rma(yi, vi, method=...)``. Q is Cochran's (fixed-effect weights) on k − 1 df.
    :math:`I^2 = 100\\,\\hat\\tau^2 / (\\hat\\tau^2 + s^2)` and
    :math:`H^2 = (\\hat\\tau^2 + s^2) / s^2` with the typical within-study variance
    :math:`s^2 = (k-1)\\sum w_i / ((\\sum w_i)^2 - \\sum w_i^2)` (metafor's definitions; for DL
    this equals :math:`(Q - df)/Q`).

    Tested against metafor on the BCG vaccine trials (``dat.bcg``, log risk ratios):
    REML −0.7145 (SE 0.1798), τ² 0.3132, I² 92.22 %; DL −0.7141 (SE 0.1787), τ² 0.3088,
    I² 92.12 %; Q = 152.2330.

    Examples
    --------
    The BCG trials (Colditz et al. 1994; metafor ``dat.bcg``): TB cases and non-cases among
    the vaccinated (tpos, tneg) and the controls (cpos, cneg), as log risk ratios.

    >>> tpos = np.array([4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27])
    >>> tneg = np.array([119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448,
    ...                  2493, 16886])
    >>> cpos = np.array([11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29])
    >>> cneg = np.array([128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197,
    ...                  2338, 17825])
    >>> bcg = pd.DataFrame({"yi": np.log(tpos / (tpos + tneg)) - np.log(cpos / (cpos + cneg)),
    ...     "sei": np.sqrt(1 / tpos - 1 / (tpos + tneg) + 1 / cpos - 1 / (cpos + cneg))})
    >>> res = meta_analysis(bcg, estimate="yi", se="sei")   # In R: rma(yi, vi, data=dat)
    >>> round(res.estimate, 4), round(res.se, 4), round(res.tau2, 4), round(res.i2_percent, 2)
    (-0.7145, 0.1798, 0.3132, 92.22)
    >>> round(res.q, 4), round(res.ci_low, 4), round(res.ci_high, 4)
    (152.233, -1.0669, -0.3622)
    """
    func = "meta_analysis"
    for name, value, allowed in (("method", method, METHODS), ("scale", scale, ("linear", "log")),
                                 ("prediction", prediction, ("t", "z"))):
        check_param(func, name, value, [Options(allowed)])
    require_frame(data, [estimate] + ([se] if se else [ci_low, ci_high]) + ([label] if label else []),
                  func)
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    labels = (data[label] if label else pd.Series(data.index, index=data.index)).astype(str)
    est = pd.to_numeric(data[estimate], errors="coerce")
    bounds = [pd.to_numeric(data[c], errors="coerce") for c in (ci_low, ci_high)] if not se else []
    if scale == "log":
        bad = [lab for lab, *vals in zip(labels, est, *bounds) if any(x <= 0 for x in vals)]
        if bad:
            raise ParameterError(f"{func}: scale='log' needs positive ratios; study {bad[0]!r} "
                                 f"has an estimate or CI bound ≤ 0.")
        y, bounds = np.log(est), [np.log(b) for b in bounds]
    else:
        y = est
    sei = pd.to_numeric(data[se], errors="coerce") if se else (bounds[1] - bounds[0]) / (2 * z)
    notes = []
    if not se:
        lopsided = ((bounds[1] - y) - (y - bounds[0])).abs() > 0.1 * (bounds[1] - bounds[0])
        if lopsided.any():
            notes.append(f"CI not symmetric around the estimate on the {scale} scale for "
                         f"{', '.join(labels[lopsided])}; its SE is half the CI width / z")
    ok = y.notna() & sei.notna() & (sei > 0)
    if (~ok).any():
        notes.append(f"left out (no estimate or SE): {', '.join(labels[~ok])}")
    y, sei, labels = y[ok].to_numpy(float), sei[ok].to_numpy(float), labels[ok]
    k = len(y)
    if k < 2:
        raise ParameterError(f"{func}: needs two or more studies with an estimate and SE; "
                             f"found {k}.")
    v = sei ** 2
    if method == "REML":
        tau2, converged = reml_tau2(y, v)
        if not converged:
            notes.append("REML did not converge in 100 Fisher-scoring steps")
    else:
        tau2 = float(combine_effects(y, v, method_re="dl" if method == "DL" else "pm").tau2)
    w_fe = 1 / v
    mu_fe = (w_fe * y).sum() / w_fe.sum()
    q = float((w_fe * (y - mu_fe) ** 2).sum())
    s2 = (k - 1) * w_fe.sum() / (w_fe.sum() ** 2 - (w_fe ** 2).sum())
    w = 1 / (v + tau2)
    mu, se_mu = (w * y).sum() / w.sum(), np.sqrt(1 / w.sum())
    if prediction == "t" and k < 3:
        notes.append("no prediction interval: t on k − 2 df needs k ≥ 3")
        half = np.nan
    else:
        qpi = stats.t.ppf(1 - (1 - confidence) / 2, k - 2) if prediction == "t" else z
        half = qpi * np.sqrt(tau2 + se_mu ** 2)
    back = np.exp if scale == "log" else (lambda x: x)
    studies = pd.DataFrame({"label": labels.to_numpy(), "estimate": back(y),
                            "ci_low": back(y - z * sei), "ci_high": back(y + z * sei),
                            "se": sei, "weight": 100 * w / w.sum()})
    if n and n in data.columns:
        studies["n"] = pd.to_numeric(data.loc[ok, n], errors="coerce").to_numpy()
    return MetaResult(
        estimate=float(back(mu)), ci_low=float(back(mu - z * se_mu)),
        ci_high=float(back(mu + z * se_mu)), se=float(se_mu), z=float(mu / se_mu),
        p_value=float(2 * stats.norm.sf(abs(mu / se_mu))), pi_low=float(back(mu - half)),
        pi_high=float(back(mu + half)), tau2=float(tau2),
        i2_percent=float(100 * tau2 / (tau2 + s2)), h2=float((tau2 + s2) / s2), q=q,
        q_df=k - 1, q_p=float(stats.chi2.sf(q, k - 1)), k=k,
        n=float(studies["n"].sum()) if "n" in studies else np.nan,
        method={"REML": "random effects, REML τ²", "DL": "random effects, DerSimonian-Laird τ²",
                "PM": "random effects, Paule-Mandel τ²"}[method],
        scale=scale, prediction=("t, k − 2 df (Higgins et al. 2009)" if prediction == "t"
                                 else "normal (z)"),
        confidence=confidence, studies=studies, notes=tuple(notes))


def _tables(results):
    try:
        runs, records = results
    except (TypeError, ValueError):
        runs = records = None
    if not (isinstance(runs, pd.DataFrame) and isinstance(records, pd.DataFrame)):
        raise ParameterError("pool_batch: results must be the (runs, results) tables of a "
                             "batch, as its read_results gives them.")
    return runs, records


def batch_records(results, *, name: str, by: str = "institution", exclude=("all",),
                  rules: DisclosureRules | None = None) -> pd.DataFrame:
    """Every record of a batch whose name matches ``name``, with the unit it belongs to and
    why :func:`pool_batch` leaves it out, if it does.

    Returns
    -------
    DataFrame: ``name``, ``label`` (the ``by`` value of the run), ``estimate``, ``ci_low``,
    ``ci_high``, ``p_value``, ``n``, ``run_id``, ``status`` and ``left_out`` (None, or the
    reason: the pooled run, a run that is not ``ok``, no estimate or CI, fewer than min_cell
    people). ``data[data.left_out.isna()]`` are the records to pool or to draw.
    """
    func = "pool_batch"
    rules = rules or DisclosureRules()
    runs, records = _tables(results)
    grid = runs["grid"].map(lambda g: json.loads(g) if isinstance(g, str) else (g or {}))
    if not grid.map(lambda g: by in g).any():
        keys = sorted({k for g in grid for k in g})
        raise ParameterError(f"{func}: no run of this batch has {by!r} in its grid; grid "
                             f"parameters: {keys or 'none'}.")
    runs = runs.assign(label=grid.map(lambda g: g.get(by)))
    matched = records[records["name"].map(lambda s: isinstance(s, str) and fnmatchcase(s, name))]
    if matched.empty:
        known = sorted(records["name"].dropna().unique())
        raise ParameterError(f"{func}: no result named like {name!r}; names in this batch: "
                             f"{', '.join(known[:12])}{' …' if len(known) > 12 else ''}.")
    m = matched.merge(runs[["run_id", "label", "status"]], on="run_id", how="left")
    reasons = [
        (m["label"].isna() | m["label"].astype(str).isin([str(e) for e in exclude]),
         "the pooled run"),
        (m["status"] != "ok", "run " + m["status"].fillna("missing").astype(str)),
        (m[["estimate", "ci_low", "ci_high"]].isna().any(axis=1), "no estimate or CI"),
        (pd.Series(rules.small_count(m["n"].fillna(0).to_numpy()), index=m.index),
         f"fewer than {rules.min_cell} people"),
    ]
    m["left_out"] = None
    for mask, why in reversed(reasons):        # the first reason that applies is the one given
        m.loc[mask, "left_out"] = why if isinstance(why, str) else why[mask]
    keep = m[m["left_out"].isna()]
    twice = keep.duplicated(["name", "label"])
    if twice.any():
        raise ParameterError(f"{func}: {by} {keep.loc[twice, 'label'].iloc[0]!r} has more than "
                             f"one record named {keep.loc[twice, 'name'].iloc[0]!r} (the grid "
                             f"varies something else too); narrow the pattern or the batch.")
    cols = ["name", "label", "estimate", "ci_low", "ci_high", "p_value", "n", "run_id",
            "status", "left_out"]
    return m[cols].reset_index(drop=True)


@validate_params({"confidence": [Interval(0, 1, closed="neither")]})
def pool_batch(results, *, name: str, by: str = "institution", method: str = "REML",
               scale: str | None = None, confidence: float = 0.95, prediction: str = "t",
               exclude=("all",), rules: DisclosureRules | None = None) -> pd.DataFrame:
    """Meta-analyse a batch's per-institution estimates, one pooled row per result name.

    Parameters
    ----------
    results : (runs, results)
        The two tables of a batch (its ``read_results(folder)``): ``runs`` with ``run_id``,
        ``status`` and ``grid`` (JSON), ``results`` with ``run_id``, ``name``, ``estimate``,
        ``ci_low``, ``ci_high``, ``p_value`` and ``n``. Reading the store is the caller's job.
    name : str
        fnmatch pattern of result names, such as ``"daily_chaos/AIPW/ATE/*"``; each distinct
        name matched is pooled on its own.
    by : str
        Grid parameter that names the unit; runs where it is missing or in ``exclude`` (the
        pooled "all" run) are left out.
    scale : {'linear', 'log'}, optional
        Default: ``'log'`` for names with "ratio" in them, else ``'linear'``.

    Returns
    -------
    DataFrame, a measure table with a row per name: ``name``, then the :class:`MetaResult`
    summary columns (``measure``, ``scale``, ``estimate``, ``ci_low``, ``ci_high``, ``n``,
    ``note`` (what was left out and why: failed runs, the pooled run, missing CIs, records of
    fewer than min_cell), ``pi_low``, ``pi_high``, ``tau2``, ``i2_percent``, ``q``, ``q_p``,
    ``k`` …) and ``units`` (the units pooled).

    Examples
    --------
    >>> runs = pd.DataFrame({"run_id": ["r0", "r1", "r2", "r3"], "status": "ok",
    ...     "grid": ['{"institution": "all"}', '{"institution": "A"}',
    ...              '{"institution": "B"}', '{"institution": "C"}']})
    >>> results = pd.DataFrame({"run_id": ["r0", "r1", "r2", "r3"],
    ...     "name": "chaos/AIPW/ATE/mean difference", "estimate": [-0.3, -0.2, -0.4, -0.3],
    ...     "ci_low": [-0.4, -0.4, -0.6, -0.5], "ci_high": [-0.2, 0.0, -0.2, -0.1],
    ...     "p_value": 0.01, "n": [300, 100, 100, 100]})
    >>> pooled = pool_batch((runs, results), name="chaos/AIPW/*")
    >>> pooled[["name", "estimate", "k", "n", "units"]].round(2)
                                 name  estimate  k    n    units
    0  chaos/AIPW/ATE/mean difference      -0.3  3  300  A, B, C
    """
    records = batch_records(results, name=name, by=by, exclude=exclude, rules=rules)
    rows = []
    for nm, every in records.groupby("name", sort=True):
        sc = scale or ("log" if "ratio" in nm.lower() else "linear")
        part = every[every["left_out"].isna()]
        out = every[every["left_out"].notna()]
        extra = [f"left out: {lab} ({why})" if pd.notna(lab) else f"left out: {why}"
                 for lab, why in zip(out["label"], out["left_out"])]
        if len(part) < 2:
            row = measure_table([{"measure": POOLED, "scale": effect_scale(sc, nm),
                                  "estimate": np.nan, "k": len(part), "analysis_scale": sc}],
                                extra=SUMMARY_EXTRA)
            extra.append("fewer than two units: nothing to pool")
        else:
            res = meta_analysis(part, label="label", method=method, scale=sc,
                                confidence=confidence, prediction=prediction)
            row = res.to_frame(nm)
            extra += list(res.notes)
        row.insert(0, "name", nm)
        row["units"] = ", ".join(map(str, part["label"]))
        row["note"] = "; ".join(extra)
        rows.append(row)
    return pd.concat(rows, ignore_index=True)
