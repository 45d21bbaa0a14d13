"""BrukerPlan year over year: functional levels per domain, the critical ("dark red") group, and
IP and crisis-plan coverage by functional level and problem group.

Source 003 (Bergen 2017 against 2015) asks: did the share at each level (1 green … 5 red) change,
is the critical group smaller, and how many of the worst off have neither an IP nor a crisis plan.
Domains, colours, scores and the critical rule come from ``instruments/brukerplan.yaml``; that
rule is a placeholder (``certainty: unverified``), so it can be replaced with ``rule=`` and is
named in the output. A person is usually mapped in several years; year comparisons keep the
pairing (a bootstrap over persons, person-clustered standard errors).
"""
from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.constraints import Interval, require_frame, validate_params
from evaluation.describe import proportion_ci
from evaluation.errors import ParameterError
from evaluation.estimates import as_estimate_table, as_measure_table, with_counts
from evaluation.instruments import load_instrument

LEVELS = (1, 2, 3, 4, 5)
PLANS = ("has_ip", "has_crisis_plan")


CONFIDENCE = Interval(0, 1, closed="neither")


@lru_cache(maxsize=1)
def brukerplan_instrument():
    """The BrukerPlan instrument (``instruments/brukerplan.yaml``), loaded once."""
    return load_instrument("brukerplan")


def domain_columns() -> list[str]:
    """The eight domain columns, from brukerplan.yaml (``bp_substance_use`` … ``bp_activity``)."""
    return list(brukerplan_instrument().levels["items"])


def _label(item: str) -> str:
    return brukerplan_instrument().items[item].label


def shares_with_ci(out: pd.DataFrame, confidence: float, *, measure: str,
                   keys) -> pd.DataFrame:
    """A measure table of shares from a frame with ``count`` and ``n``: ``keys``, then
    ``measure``, scale "proportion", the share as ``estimate`` with its Wilson CI, ``n`` and
    ``note``, then ``count``, the frame's other columns and ``method``."""
    out = out.copy()
    out["count"] = out["count"].astype(int)
    out["estimate"] = np.where(out["n"] > 0, out["count"] / out["n"].where(out["n"] > 0), np.nan)
    out["ci_low"], out["ci_high"] = proportion_ci(out["count"], out["n"], confidence=confidence)
    out["measure"], out["scale"] = measure, "proportion"
    out["method"] = f"Wilson {confidence:.0%} CI"
    table = as_measure_table(out, keys=keys)
    rest = [c for c in table.columns if c not in ("count", "method")]
    at = rest.index("note") + 1
    return table[rest[:at] + ["count"] + rest[at:] + ["method"]]


def _domains(data: pd.DataFrame, domains, func: str) -> list[str]:
    """Item columns of the domains asked for (keys such as ``bp_housing`` or labels such as
    ``housing``); all of the instrument's domains present in the data when None."""
    keys = domain_columns()
    by_label = {_label(k): k for k in keys}
    if domains is None:
        domains = [k for k in keys if k in data.columns] or keys
    domains = [domains] if isinstance(domains, str) else list(domains)
    unknown = [d for d in domains if d not in keys and d not in by_label]
    if unknown:
        raise ParameterError(f"{func}: unknown BrukerPlan domain(s) {unknown}; known: {keys} "
                             f"(or their labels {sorted(by_label)}).")
    chosen = [by_label.get(d, d) for d in domains]
    require_frame(data, chosen, func)
    return chosen


def year_values(series: pd.Series, name: str, func: str) -> pd.Series:
    """A mapping-year column as whole numbers (``Int64``); anything else is a ParameterError."""
    years = pd.to_numeric(series, errors="coerce")
    odd = years.dropna()[years.dropna() % 1 != 0]
    if len(odd):
        raise ParameterError(f"{func}: column {name!r} must hold whole years; found "
                             f"{odd.iloc[0]!r} in row {odd.index[0]}.")
    return years.astype("Int64")


def domain_levels(data: pd.DataFrame, item: str, func: str) -> pd.Series:
    """A domain's levels as numbers (missing kept); a level outside 1–5 is a ParameterError."""
    x = pd.to_numeric(data[item], errors="coerce")
    odd = x.dropna()[~x.dropna().isin(LEVELS)]
    if len(odd):
        raise ParameterError(f"{func}: domain {item!r} must be scored 1 to 5; found "
                             f"{odd.iloc[0]!r} in row {odd.index[0]}.")
    return x


@validate_params({"confidence": [CONFIDENCE]})
def level_shares_by_year(data: pd.DataFrame, *, domains=None, year: str = "year",
                         confidence: float = 0.95) -> pd.DataFrame:
    """Share of people at each level (1–5) of each domain, per mapping year, with Wilson CIs.

    Parameters
    ----------
    data : DataFrame
        BrukerPlan rows (one per person and year) with the domain columns ``bp_*``.
    domains : list of str, optional
        Domain keys (``bp_housing``) or labels (``housing``); default all eight.
    year : str
        Mapping-year column.

    Returns
    -------
    DataFrame, a measure table with a row per domain × year × level (levels with nobody
    included, so shares sum to 1 within a domain and year): ``domain``, ``label``, ``year``,
    ``level``, ``colour``, ``measure`` ("share at level"), ``scale`` ("proportion"),
    ``estimate`` (the share), ``ci_low``, ``ci_high``, ``n`` (people rated on the domain that
    year), ``note``, ``count`` (people at the level), ``method``. Show it with
    ``Disclosure.show(table)``.

    Notes
    -----
    Wilson score interval (statsmodels ``proportion_confint(method="wilson")``), each cell on
    its own; in R ``prop.test(count, n, correct = FALSE)$conf.int``.

    Examples
    --------
    >>> df = pd.DataFrame({"year": [2015, 2015, 2017, 2017], "bp_housing": [5, 2, 2, 1]})
    >>> t = level_shares_by_year(df, domains=["housing"])
    >>> t[t.level.isin([1, 5])][["year", "level", "colour", "count", "n", "estimate"]]
       year  level colour  count  n  estimate
    0  2015      1  green      0  2       0.0
    4  2015      5    red      1  2       0.5
    5  2017      1  green      1  2       0.5
    9  2017      5    red      0  2       0.0
    """
    func = "level_shares_by_year"
    items = _domains(data, domains, func)
    require_frame(data, [year], func)
    years = year_values(data[year], year, func)
    frames = []
    for item in items:
        x = domain_levels(data, item, func)
        ok = x.notna() & years.notna()
        counts = pd.crosstab(years[ok].astype(int), x[ok].astype(int))
        counts = counts.reindex(columns=list(LEVELS), fill_value=0)
        long = counts.stack().rename("count").reset_index()
        long.columns = ["year", "level", "count"]
        long.insert(0, "domain", item)
        frames.append(long)
    out = pd.concat(frames, ignore_index=True)
    out.insert(1, "label", out["domain"].map(_label))
    out.insert(4, "colour", out["level"].map(brukerplan_instrument().levels["values"]))
    out["n"] = out.groupby(["domain", "year"])["count"].transform("sum")
    table = shares_with_ci(out, confidence, measure="share at level",
                           keys=["domain", "label", "year", "level", "colour"])
    # For the disclosure layer: the five levels of a domain in a year partition its n (the
    # label and colour only name the domain and the level).
    table.attrs.update(keys=["domain", "year", "level"], population="mapped persons")
    return table


def _two_years(years: pd.Series, chosen, func: str) -> tuple[int, int]:
    present = sorted(int(y) for y in years.dropna().unique())
    chosen = (present[:1] + present[-1:]) if chosen is None else [int(y) for y in chosen]
    if len(chosen) != 2 or chosen[0] == chosen[1] or not set(chosen) <= set(present):
        raise ParameterError(f"{func}: needs two different mapping years (from, to) present in "
                             f"the data; asked for {chosen}, the data has {present}.")
    return chosen[0], chosen[1]


@validate_params({"n_boot": [Interval(1, None, integral=True)], "confidence": [CONFIDENCE]})
def year_difference(data: pd.DataFrame, *, years=None, domains=None, id: str = "person_id",
                    year: str = "year", n_boot: int = 1000, seed: int = 2026,
                    confidence: float = 0.95) -> pd.DataFrame:
    """Change between two mapping years in the share at each level and in the mean level, per
    domain, with bootstrap CIs that keep people mapped in both years paired.

    Parameters
    ----------
    years : (int, int), optional
        (from, to); default the first and last year in the data.
    id : str
        Person column: the unit that is resampled.
    n_boot, seed : int
        Bootstrap replicates and seed.

    Returns
    -------
    DataFrame, a measure table with per domain six rows (``measure`` "share at level 1" …
    "share at level 5", "mean level"): ``domain``, ``label``, ``measure``, ``scale``,
    ``estimate`` (the difference, to − from), ``ci_low``, ``ci_high``, ``n`` (people in either
    year), ``note``, then ``level``, ``year_from``, ``year_to``, ``estimate_from``,
    ``estimate_to``, ``se``, ``p_value``, ``count_from``, ``count_to`` (people at the level),
    ``n_from``, ``n_to``, ``n_paired`` (people rated in both years), ``method``. A negative
    difference in the mean level is an improvement (1 = good).

    Notes
    -----
    Persons, not rows, are resampled with replacement (a cluster bootstrap), each taking their
    rows of both years along; so the correlation between a person's two ratings, which makes a
    paired comparison more precise than two independent samples, is kept, and people mapped in
    one year only still count. The CI is the bootstrap percentile interval; ``se`` is the
    bootstrap standard deviation and ``p_value`` the two-sided normal test of difference / se.
    For a model-based alternative see :func:`ordinal_year_model`.

    Examples
    --------
    >>> df = pd.DataFrame({"person_id": list("abcdabcd"), "year": [1] * 4 + [2] * 4,
    ...                    "bp_housing": [5, 5, 3, 2, 4, 3, 3, 2]})
    >>> t = year_difference(df, domains=["bp_housing"], n_boot=200)
    >>> t[t.measure.isin(["share at level 5", "mean level"])][
    ...     ["measure", "estimate_from", "estimate_to", "estimate", "n_paired"]]
                measure  estimate_from  estimate_to  estimate  n_paired
    4  share at level 5           0.50          0.0     -0.50         4
    5        mean level           3.75          3.0     -0.75         4
    """
    func = "year_difference"
    items = _domains(data, domains, func)
    require_frame(data, [year, id], func)
    all_years = year_values(data[year], year, func)
    y0, y1 = _two_years(all_years, years, func)
    keep = all_years.isin([y0, y1]).fillna(False).to_numpy(dtype=bool)
    sub, later = data.loc[keep], (all_years[keep] == y1).astype(int).to_numpy()
    if sub[id].isna().any() or sub.assign(_l=later).duplicated([id, "_l"]).any():
        raise ParameterError(f"{func}: column {id!r} must name one person per row and year, "
                             f"with no missing ids; pairing rests on it.")
    person = pd.factorize(sub[id])[0]
    P, D, L = person.max() + 1, len(items), len(LEVELS)
    # Per person, year and domain: an indicator per level and the level itself (for the mean),
    # and whether rated; every statistic is a ratio of sums of these over persons.
    values, rated = np.zeros((P, 2, D, L + 1)), np.zeros((P, 2, D))
    for d, item in enumerate(items):
        x = domain_levels(sub, item, func).to_numpy(dtype=float)
        ok = ~np.isnan(x)
        np.add.at(values, (person[ok], later[ok], d, x[ok].astype(int) - 1), 1)
        np.add.at(values, (person[ok], later[ok], d, L), x[ok])
        np.add.at(rated, (person[ok], later[ok], d), 1)
    flat = np.concatenate([values.reshape(P, -1), rated.reshape(P, -1)], axis=1)
    cut = 2 * D * (L + 1)

    def ratios(sums):
        num = sums[..., :cut].reshape(*sums.shape[:-1], 2, D, L + 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return num / sums[..., cut:].reshape(*sums.shape[:-1], 2, D)[..., None]

    est = ratios(flat.sum(axis=0))
    rng = np.random.default_rng(seed)
    boot = []
    for start in range(0, n_boot, 200):     # batches keep memory flat for national-size data
        w = rng.multinomial(P, np.full(P, 1 / P), size=min(200, n_boot - start)).astype(float)
        r = ratios(w @ flat)
        boot.append(r[:, 1] - r[:, 0])
    boot = np.concatenate(boot)
    alpha, counts, n_rated = 1 - confidence, values.sum(axis=0), rated.sum(axis=0)
    rows = []
    for d, item in enumerate(items):
        for j in range(L + 1):
            b = boot[:, d, j][np.isfinite(boot[:, d, j])]
            diff = est[1, d, j] - est[0, d, j]
            se = b.std(ddof=1) if len(b) > 1 else np.nan
            lo, hi = np.quantile(b, [alpha / 2, 1 - alpha / 2]) if len(b) else (np.nan, np.nan)
            mean = j == L
            rows.append({
                "domain": item, "label": _label(item),
                "measure": "mean level" if mean else f"share at level {j + 1}",
                "level": np.nan if mean else j + 1, "year_from": y0, "year_to": y1,
                "estimate_from": est[0, d, j], "estimate_to": est[1, d, j], "estimate": diff,
                "ci_low": lo, "ci_high": hi, "se": se,
                "p_value": 2 * stats.norm.sf(abs(diff) / se) if se > 0 else np.nan,
                "count_from": np.nan if mean else counts[0, d, j],
                "count_to": np.nan if mean else counts[1, d, j],
                "n_from": int(n_rated[0, d]), "n_to": int(n_rated[1, d]),
                "n_paired": int(((rated[:, 0, d] > 0) & (rated[:, 1, d] > 0)).sum()),
                "n": int(((rated[:, 0, d] > 0) | (rated[:, 1, d] > 0)).sum()),
                "scale": ("mean difference (level, to − from; negative = better)" if mean
                          else "difference in shares (to − from)"),
                "method": f"percentile {confidence:.0%} CI, bootstrap over persons ({n_boot} "
                          f"replicates, seed {seed}); pairs kept"})
    table = as_measure_table(pd.DataFrame(rows), keys=["domain", "label"])
    # For the disclosure layer: each year's count at a level is a count of its n, its share
    # (estimate_from, estimate_to) is that count over n, and the levels of a domain partition n.
    table = with_counts(table, [c for c in ("count_from", "count_to", "n_from", "n_to", "n_paired")
                                if c in table.columns],
                        complements={c: n for c, n in (("count_from", "n_from"), ("count_to", "n_to"))
                                     if c in table.columns})
    table.attrs.update(keys=["domain", "level"],
                       shares={"estimate_from": "n_from", "estimate_to": "n_to"})
    return table


def _covariate_matrix(frame: pd.DataFrame, covariates, func: str) -> pd.DataFrame:
    parts = []
    for c in covariates:
        s = frame[c]
        numeric = pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s)
        part = (s.astype(float).rename(c).to_frame() if numeric else
                pd.get_dummies(s.astype(str), prefix=c, drop_first=True, dtype=float))
        if part.empty or part.iloc[:, 0].nunique() < 2:
            raise ParameterError(f"{func}: covariate {c!r} has one value only.")
        parts.append(part)
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=frame.index)


@validate_params({"confidence": [CONFIDENCE]})
def ordinal_year_model(data: pd.DataFrame, *, domain: str, years=None, covariates=None,
                       id: str = "person_id", year: str = "year",
                       confidence: float = 0.95) -> pd.DataFrame:
    """Odds ratio of a worse level in each later year against the first, from a proportional-odds
    (ordinal logistic) model with person-clustered standard errors.

    Parameters
    ----------
    domain : str
        One domain, key (``bp_activity``) or label (``work_activity``).
    years : list of int, optional
        Years to use (the earliest is the reference); default all.
    covariates : list of str, optional
        Adjustment columns; numeric ones enter linearly, others as indicators (first level
        reference).

    Returns
    -------
    DataFrame, an estimate table with a row per later year: ``outcome`` (the domain column),
    ``method``, ``estimand`` (the ``term``, "2017 vs 2015"), ``scale`` (odds ratio of a worse
    level), ``estimate``, ``ci_low``, ``ci_high``, ``p_value``, ``n`` (ratings),
    ``n_exposed`` (empty), ``note``, then ``domain``, ``label``, ``term``, ``year``,
    ``reference_year``, ``log_odds_ratio``, ``se`` (log scale), ``n_persons``,
    ``adjusted_for``. An odds ratio below 1 means lower levels (better functioning) in that
    year.

    Notes
    -----
    :math:`\\operatorname{logit} P(Y \\le j) = \\theta_j - (\\beta' \\mathrm{year} + \\gamma' x)`,
    fitted by maximum likelihood with statsmodels ``OrderedModel(distr="logit")``; the standard
    errors are the cluster-robust sandwich with persons as clusters (``cov_type="cluster"``), so
    a person rated in both years is not counted as two independent people. Wald CIs and
    p-values. In R: ``ordinal::clm(factor(level) ~ factor(year))`` for the estimate, with
    ``sandwich::vcovCL(fit, cluster = ~ person_id)`` for the SEs. The proportional-odds
    assumption (one odds ratio for every cut-point) is not tested here; compare
    :func:`year_difference` level by level.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> person = np.repeat(np.arange(300), 2)
    >>> later = np.tile([0, 1], 300)
    >>> latent = 3 + rng.normal(0, 0.6, 300)[person] - 0.5 * later + rng.normal(0, 0.7, 600)
    >>> df = pd.DataFrame({"person_id": person, "year": 2015 + 2 * later,
    ...                    "bp_activity": np.clip(np.round(latent), 1, 5)})
    >>> res = ordinal_year_model(df, domain="work_activity")
    >>> res[["term", "estimate", "ci_low", "ci_high", "n", "n_persons"]].round(2)
               term  estimate  ci_low  ci_high    n  n_persons
    0  2017 vs 2015      0.43    0.33     0.54  600        300
    """
    from statsmodels.miscmodels.ordinal_model import OrderedModel
    func = "ordinal_year_model"
    item = _domains(data, [domain], func)[0]
    covariates = [covariates] if isinstance(covariates, str) else list(covariates or [])
    require_frame(data, [year, id, *covariates], func)
    frame = data[[item, id, *covariates]].copy()
    frame[item] = domain_levels(data, item, func)
    frame["_year"] = year_values(data[year], year, func)
    if years is not None:
        frame = frame[frame["_year"].isin([int(y) for y in years]).fillna(False)]
    frame = frame.dropna()
    present = sorted(int(y) for y in frame["_year"].unique())
    if len(present) < 2:
        raise ParameterError(f"{func}: needs ratings in two or more years; complete rows have "
                             f"year(s) {present}.")
    if frame[item].nunique() < 2:
        raise ParameterError(f"{func}: domain {item!r} has one level only; nothing to model.")
    yr = pd.Categorical(frame["_year"].astype(int), categories=present)
    X = pd.get_dummies(yr, prefix="year", drop_first=True, dtype=float)
    X.index = frame.index
    X = pd.concat([X, _covariate_matrix(frame, covariates, func)], axis=1)
    endog = pd.Categorical(frame[item].astype(int), ordered=True,
                           categories=sorted(frame[item].astype(int).unique()))
    groups = pd.factorize(frame[id])[0]
    notes = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = OrderedModel(endog, X, distr="logit").fit(
            method="bfgs", disp=False, maxiter=1000, cov_type="cluster",
            cov_kwds={"groups": groups})
    if not fit.mle_retvals.get("converged", True):
        notes.append("optimiser did not converge")
    notes += sorted({str(w.message).splitlines()[0] for w in caught
                     if not issubclass(w.category, DeprecationWarning)})
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    rows = []
    for y in present[1:]:
        b, se = float(fit.params[f"year_{y}"]), float(fit.bse[f"year_{y}"])
        rows.append({"outcome": item, "estimand": f"{y} vs {present[0]}",
                     "domain": item, "label": _label(item), "term": f"{y} vs {present[0]}", "year": y, "reference_year": present[0],
                     "estimate": np.exp(b), "ci_low": np.exp(b - z * se),
                     "ci_high": np.exp(b + z * se), "p_value": 2 * stats.norm.sf(abs(b / se)),
                     "log_odds_ratio": b, "se": se, "n": len(frame),
                     "n_persons": int(frame[id].nunique()),
                     "scale": "odds ratio (a higher, worse level)",
                     "method": "ordinal logistic regression (proportional odds, statsmodels "
                               "OrderedModel), person-clustered sandwich SEs",
                     "adjusted_for": ", ".join(covariates), "note": "; ".join(notes)})
    return as_estimate_table(pd.DataFrame(rows))

