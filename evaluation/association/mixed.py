"""A mixed model with a random intercept for institution: IP and an outcome within institutions.

Residents of one institution share staff and routines, so their outcomes are correlated and an
ordinary regression overstates its precision. :func:`mixed_model` fits a linear mixed model with a
random intercept per institution (statsmodels ``MixedLM``, REML) and, for a binary outcome, adds
a population-averaged odds ratio from a GEE with an exchangeable working correlation.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from evaluation.constraints import Interval, Options, name_list, shown_value, validate_params
from evaluation.estimates import ESTIMATE_COLUMNS, estimate_table, warning_notes
from evaluation.errors import ParameterError

KINDS = ("continuous", "binary")

MIXED_EXTRAS = ["se", "n_groups", "group_var"]
COLUMNS = ESTIMATE_COLUMNS + MIXED_EXTRAS

LPM_NOTE = "linear probability model; population-averaged alternative: GEE"
ONE_GROUP_NOTE = "one institution: no random intercept; see adjusted regression"


@validate_params({"kind": [Options(KINDS)], "confidence": [Interval(0, 1, closed="neither")]})
def mixed_model(data: pd.DataFrame, outcome: str, treatment: str,
                covariates: Sequence[str] = (), *, group: str, kind: str,
                confidence: float = 0.95) -> pd.DataFrame:
    """Treatment effect from a linear mixed model with a random intercept for ``group``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per person.
    outcome : str
        Outcome column: numeric for ``kind='continuous'``, 0/1 for ``kind='binary'``.
    treatment : str
        Exposure column, coded 0/1 (for example IP yes/no).
    covariates : list of str
        Adjustment covariates. Numeric columns enter linearly; text, category and other
        non-numeric columns enter as categorical (``C()``, first level as reference).
    group : str
        Cluster column (institution), modelled as a random intercept.
    kind : {'continuous', 'binary'}
        Outcome type.
    confidence : float
        Confidence level of the intervals (0.95).

    Returns
    -------
    pandas.DataFrame
        An estimate table (:mod:`evaluation.estimates`): one row for a continuous outcome, two
        for a binary one, with the contract's columns and then ``se``, ``n_groups`` and
        ``group_var`` (REML variance of the random intercept).

        * ``method='mixed'``: the treatment coefficient of the mixed model: a mean difference
          (continuous) or, for a binary outcome, a risk difference from a linear probability
          mixed model (said in ``note``).
        * ``method='gee'`` (binary only): the population-averaged odds ratio from a binomial
          GEE (logit link, exchangeable working correlation within ``group``, robust SEs);
          ``se`` is on the log-odds scale.

        Rows with a missing value in any column used are left out (complete cases; see
        :func:`evaluation.association.imputation.complete_cases` for the accounting).
        With a single group nothing can be fitted: the rows carry ``estimate`` NaN and the
        note ``"one institution: no random intercept; see adjusted regression"``.

    Raises
    ------
    ParameterError
        A column is not in ``data``; ``kind`` is not 'continuous' or 'binary'; the treatment
        is not 0/1 or has one value; a binary outcome is not 0/1; no complete rows.

    Notes
    -----
    The model is :math:`y_{ij} = \\beta_0 + \\tau T_{ij} + x_{ij}'\\beta + u_j + e_{ij}` with
    :math:`u_j \\sim N(0, \\sigma_u^2)` and :math:`e_{ij} \\sim N(0, \\sigma^2)`, fitted by REML
    (statsmodels ``MixedLM``, the estimator of R's ``lme4::lmer``). The estimate is
    :math:`\\hat\\tau`; the CI is Wald, :math:`\\hat\\tau \\pm z_{1-\\alpha/2}\\,SE`, with the
    model-based SE (``lmer`` prints the same SE; it gives no p-value). For a 0/1 outcome the
    linear probability model's errors are heteroskedastic, so its SE is approximate; the GEE
    row's sandwich SE is robust to that but can be too small with few institutions (fewer
    than about 30 are flagged in ``note``).

    In R: ``lme4::lmer(y ~ ip + age + (1 | institution), REML = TRUE)`` and
    ``geepack::geeglm(y ~ ip + age, id = institution, family = binomial,
    corstr = "exchangeable")``.

    Tested against lme4's published REML fit of ``sleepstudy`` (Bates et al. 2015):
    ``Reaction ~ Days + (1 | Subject)`` gives Days 10.4673 (SE 0.8042) and intercept 251.4051.

    References
    ----------
    Bates D, Mächler M, Bolker B, Walker S (2015). Fitting linear mixed-effects models using
    lme4. Journal of Statistical Software 67(1).

    Liang K-Y, Zeger SL (1986). Longitudinal data analysis using generalized linear models.
    Biometrika 73(1):13-22.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> inst = np.repeat(np.arange(20), 50)
    >>> ip = rng.integers(0, 2, inst.size)
    >>> age = rng.normal(80, 8, inst.size)
    >>> chaos = 50 - 3 * ip + 0.1 * age + rng.normal(0, 2, 20)[inst] + rng.normal(0, 5, inst.size)
    >>> df = pd.DataFrame({"chaos": chaos, "ip": ip, "age": age, "institution": inst})
    >>> res = mixed_model(df, "chaos", "ip", ["age"], group="institution", kind="continuous")
    >>> res[["method", "estimate", "ci_low", "ci_high", "n", "n_groups"]].round(2)
      method  estimate  ci_low  ci_high     n  n_groups
    0  mixed     -2.99   -3.61    -2.38  1000        20
    """
    func = "mixed_model"
    covariates = name_list(covariates, "covariates", func)
    frame = _frame(data, outcome, treatment, covariates, group, func)
    if kind == "binary":
        odd = frame["y"][~frame["y"].isin([0, 1])]
        if len(odd):
            raise ParameterError(f"{func}: binary outcome {outcome!r} must be 0/1; found value "
                                 f"{shown_value(odd.iloc[0])}.")

    n = len(frame)
    n_exposed = int((frame["t"] == 1).sum())
    n_groups = int(frame["g"].nunique())
    base = {"outcome": outcome, "n": n, "n_exposed": n_exposed, "n_groups": n_groups}
    methods = [("mixed", "conditional (within institution)",
                "mean difference" if kind == "continuous" else "risk difference")]
    if kind == "binary":
        methods.append(("gee", "population-averaged", "odds ratio"))

    if n_groups < 2:
        return estimate_table([{**base, "method": m, "estimand": e, "scale": s,
                                "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                                "p_value": np.nan, "se": np.nan, "group_var": np.nan,
                                "note": ONE_GROUP_NOTE} for m, e, s in methods], extra=MIXED_EXTRAS)

    rhs = " + ".join(["t", *[_term(frame, f"x{i}") for i in range(len(covariates))]])
    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    rows = []

    notes = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = smf.mixedlm(f"y ~ {rhs}", frame, groups=frame["g"]).fit(reml=True)
    notes += warning_notes(caught)
    est, se = float(fit.fe_params["t"]), float(fit.bse_fe["t"])
    group_var = float(np.asarray(fit.cov_re)[0, 0])
    if group_var < 1e-6 * max(float(fit.scale), 1e-300):
        # a boundary fit (lme4: "boundary (singular) fit"): the optimiser's warnings about the
        # singular covariance and the Hessian say only that, so one plain sentence replaces them.
        # The fit then is ordinary least squares, whose SE is well defined where MixedLM's
        # Hessian may not be.
        notes = ["boundary fit: random-intercept variance estimated at zero (no clustering "
                 "detected); estimate and SE from ordinary least squares"]
        if not np.isfinite(se) or se <= 0:
            ols = smf.ols(f"y ~ {rhs}", frame).fit()
            est, se = float(ols.params["t"]), float(ols.bse["t"])
    if kind == "binary":
        notes.insert(0, LPM_NOTE)
    rows.append({**base, "method": "mixed", "estimand": methods[0][1], "scale": methods[0][2],
                 "estimate": est, "ci_low": est - z * se, "ci_high": est + z * se,
                 "p_value": float(2 * stats.norm.sf(abs(est / se))), "se": se,
                 "group_var": group_var, "note": "; ".join(notes)})

    if kind == "binary":
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gee = smf.gee(f"y ~ {rhs}", groups="g", data=frame,
                          family=sm.families.Binomial(),
                          cov_struct=sm.cov_struct.Exchangeable()).fit()
        b, s = float(gee.params["t"]), float(gee.bse["t"])
        rho = float(gee.cov_struct.dep_params)
        notes = [f"GEE binomial, logit link, exchangeable working correlation "
                 f"(rho = {rho:.3f}), robust SEs; se on the log-odds scale"]
        if not np.isfinite(s) or s <= 0 or abs(b) > 20:
            # The GEE diverged (separation within institutions, or too few of them): nothing
            # it returned can be reported; the mixed-model row above stands on its own.
            notes = [f"GEE did not converge (log-odds {b:.3g}, SE {s:.3g}): not reported; "
                     f"see the mixed model and the adjusted regression"]
            b, s = np.nan, np.nan
        if n_groups < 30:
            notes.append(f"only {n_groups} institutions: robust SEs may be too small")
        notes += warning_notes(caught)
        rows.append({**base, "method": "gee", "estimand": methods[1][1], "scale": methods[1][2],
                     "estimate": float(np.exp(b)), "ci_low": float(np.exp(b - z * s)),
                     "ci_high": float(np.exp(b + z * s)),
                     "p_value": float(2 * stats.norm.sf(abs(b / s))) if np.isfinite(s) else np.nan,
                     "se": s,
                     "group_var": np.nan, "note": "; ".join(notes)})
    return estimate_table(rows, extra=MIXED_EXTRAS)


# helpers ----------------------------------------------------------------------------------------

def _frame(data, outcome, treatment, covariates, group, func) -> pd.DataFrame:
    """Complete rows of the columns used, renamed y, t, x0.., g (safe for formulas)."""
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(f"{func}: data must be a pandas DataFrame, got {type(data).__name__}.")
    roles = [("outcome", outcome), ("treatment", treatment),
             *[("covariate", c) for c in covariates], ("group", group)]
    for role, column in roles:
        if column not in data.columns:
            raise ParameterError(f"{func}: {role} column {column!r} is not in the data; columns: "
                                 f"{', '.join(map(str, data.columns[:30]))}.")
    used = [outcome, treatment, *covariates, group]
    twice = sorted({str(c) for c in used if used.count(c) > 1})
    if twice:
        raise ParameterError(f"{func}: column(s) {twice} are named in more than one role among "
                             f"outcome, treatment, covariates and group; name each once.")
    names = ["y", "t", *[f"x{i}" for i in range(len(covariates))], "g"]
    frame = data[[outcome, treatment, *covariates, group]].copy()
    frame.columns = names
    frame = frame.dropna().reset_index(drop=True)
    if frame.empty:
        raise ParameterError(f"{func}: no row has {outcome!r}, {treatment!r}, {group!r} and every "
                             f"covariate all present.")
    for col, name in [("y", outcome), ("t", treatment)]:
        if frame[col].dtype == bool:
            frame[col] = frame[col].astype(int)
        values = pd.to_numeric(frame[col], errors="coerce")
        if values.isna().any():
            bad = frame[col][values.isna()].iloc[0]
            raise ParameterError(f"{func}: column {name!r} must be numeric; found value {shown_value(bad)}.")
        frame[col] = values.astype(float)
    odd = frame["t"][~frame["t"].isin([0, 1])]
    if len(odd):
        raise ParameterError(f"{func}: treatment {treatment!r} must be 0/1; found value "
                             f"{shown_value(odd.iloc[0])}.")
    if frame["t"].nunique() < 2:
        raise ParameterError(f"{func}: treatment {treatment!r} has one value "
                             f"({frame['t'].iloc[0]:g}) among the {len(frame)} complete rows: "
                             f"there is nothing to compare.")
    for i in range(len(covariates)):
        if frame[f"x{i}"].dtype == bool:
            frame[f"x{i}"] = frame[f"x{i}"].astype(int)
    return frame


def _term(frame: pd.DataFrame, col: str) -> str:
    return col if pd.api.types.is_numeric_dtype(frame[col]) else f"C({col})"
