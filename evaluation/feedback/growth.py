"""How fast clients improve on the ORS, and whether they improve faster with an IP.

A growth model follows every client episode over its sessions: each has its own starting level
and its own rate of change (random intercept and slope), and the question "do clients with an
IP improve faster?" is the exposure × time interaction of the fixed part. :class:`GrowthModel`
fits it with statsmodels ``MixedLM`` (REML, the estimator of R's ``lme4::lmer``);
:func:`growth_model` is the one-call form.
"""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.constraints import Interval, Options, check_param
from evaluation.errors import ParameterError
from evaluation.estimates import estimate_row, estimate_table
from evaluation.feedback.mixed import fit_mixed, random_effects_table
from evaluation.feedback.sessions import sample_clients

EXTRA_COLUMNS = ["term", "role", "se", "n_sessions"]
"""The fixed-effects table's columns after the contract's (an estimate table)."""
METHOD = "mixed model (REML)"
INSTITUTION_EFFECTS = ("fixed", None)


class GrowthModel:
    """Linear mixed growth model of a score over sessions, by exposure.

    Parameters
    ----------
    outcome : str
        The score (default ``"ors_total"``).
    exposure : str or None
        0/1 exposure (default ``"has_ip"``); None fits time and covariates only.
    covariates : list of str
        Adjustment covariates: numeric columns enter linearly, others as categories.
    time : str
        The time scale (default ``"log_session"``, ln of the session number).
    group : str
        The column that identifies a client episode (default ``"client"``).
    random_slopes : bool
        A random slope for time per client besides the random intercept (default True).
    institution_effects : {'fixed', None}
        ``"fixed"``: institution as fixed effects (when ``institution`` has more than one
        value); None: no institution term.
    institution : str
        The institution column.
    covariates_by_time : bool
        Also enter each covariate's interaction with time (default True); see Notes.
    by_dropout : bool
        Pattern-mixture sensitivity: add the ``dropout`` column (0/1) and its interaction
        with time.
    max_clients : int, optional
        Fit on a random sample of this many client episodes, stratified by exposure.
    seed : int
        Seed of that sample.
    confidence : float
        Level of the intervals (default 0.95).

    Attributes
    ----------
    fixed_effects_ : DataFrame
        An estimate table (:mod:`evaluation.estimates`), a row per fixed-effect term:
        ``outcome``, ``method`` (``"mixed model (REML)"``), ``estimand``, ``scale``
        (``"coefficient (ORS points)"``; ``"slope difference (…)"`` for the exposure × time
        term), ``estimate``, ``ci_low``, ``ci_high``, ``p_value``, ``n`` (client episodes),
        ``n_exposed`` (exposed client episodes), ``note``, then ``term``, ``role`` (the key row
        has role ``"exposure × time"``), ``se`` and ``n_sessions``.
    interaction_ : pandas.Series or None
        The exposure × time row of ``fixed_effects_``.
    random_effects_ : DataFrame
        ``component`` (client intercept, client slope, intercept–slope covariance, residual),
        ``variance`` (the covariance in its row), ``sd`` and ``correlation``.
    converged_ : bool
    n_clients_, n_ : int
        Client episodes and sessions in the fit.
    sampled_ : dict
        ``sampled`` (whether a subsample was used), ``n_clients``, ``of_clients``,
        ``stratified_by``, ``per_stratum`` and ``seed``.
    left_out_ : dict
        Rows of the frame left out, by reason.
    notes_ : list of str
        Boundary fits, convergence problems, subsampling: also in the table's ``note``.
    formula_ : str
        The fixed-effects formula, in the data's column names.

    Notes
    -----
    The model for session :math:`j` of client episode :math:`i` is

    .. math:: y_{ij} = \\beta_0 + \\beta_1 t_{ij} + \\beta_2 E_i + \\gamma\\, t_{ij} E_i
              + x_i'\\beta_x + t_{ij}\\, x_i'\\delta + u_{0i} + u_{1i} t_{ij} + e_{ij}

    with :math:`(u_{0i}, u_{1i})` bivariate normal and :math:`e_{ij} \\sim N(0, \\sigma^2)`,
    plus institution fixed effects. The key estimate is :math:`\\gamma`, the difference in the
    rate of change per unit of time between exposed and unexposed clients, conditional on the
    covariates; its CI is Wald with the model-based SE (what ``lmer`` prints).

    ``covariates_by_time``: a covariate that changes the *rate* of change (more severe clients
    improve more slowly) and is associated with the exposure biases :math:`\\gamma` unless its
    own interaction with time is in the model; a main effect alone only adjusts the level.

    **Dropout.** The mixed model uses every observed session of every client, with no last
    observation carried forward and no completers-only analysis. Likelihood inference is then
    valid when dropout depends only on what was observed (earlier ORS scores, the covariates):
    missing at random. It is not valid when dropout depends on the scores the client would
    have had after leaving (missing not at random), for instance when clients leave because
    they are getting worse in a way their last score did not show yet. ``by_dropout=True``
    is a pattern-mixture sensitivity analysis: it lets the level and the rate of change differ
    between episodes that ended in dropout and those that did not; a large shift of
    :math:`\\gamma` then signals that the answer depends on how dropout is treated.

    **Bounded scale.** The ORS stops at 40, so clients who improve fast flatten near the top
    and the interaction is estimated on that observed scale. In the synthetic generator this
    makes the estimate about 5 % smaller than its latent IP × time effect, which shows only
    with tens of thousands of clients (``BENCHMARKS.md``, feedback section).

    **Large data.** ``max_clients`` fits the model on a random sample of client episodes,
    stratified by exposure so that both groups keep their share. Every estimate stays
    unbiased; only its SE grows (about as the square root of the clients left out). A mixed
    model's cost grows with the number of clients, and a sample of a few thousand clients
    already gives the interaction to a tenth of an ORS point.

    In R: ``lme4::lmer(ors_total ~ log_session * has_ip + severity + log_session:severity +
    institution + (log_session | client), REML = TRUE)``.

    Tested against lme4's published REML fit of ``sleepstudy`` (Bates et al. 2015),
    ``lmer(Reaction ~ Days + (Days | Subject))``: fixed effects 251.405 (SE 6.825) and
    10.467 (SE 1.546); random-effect SDs 24.741 and 5.922, correlation 0.066, residual SD
    25.592.

    References
    ----------
    Bates D, Mächler M, Bolker B, Walker S (2015). Fitting linear mixed-effects models using
    lme4. Journal of Statistical Software 67(1).

    Hedeker D, Gibbons RD (1997). Application of random-effects pattern-mixture models for
    missing data in longitudinal studies. Psychological Methods 2(1):64-78.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> n, k = 150, 6
    >>> ip = np.repeat(rng.integers(0, 2, n), k)
    >>> sess = np.tile(np.arange(1, k + 1), n)
    >>> slope = np.repeat(3 + rng.normal(0, 1, n), k) + 1.5 * ip
    >>> level = np.repeat(18 + rng.normal(0, 4, n), k)
    >>> ors = level + slope * np.log(sess) + rng.normal(0, 2, n * k)
    >>> df = pd.DataFrame({"client": np.repeat(np.arange(n), k), "log_session": np.log(sess),
    ...                    "ors_total": ors, "has_ip": ip})
    >>> m = GrowthModel(covariates=(), institution_effects=None).fit(df)  # truth: 1.5
    >>> m.fixed_effects_[["term", "role", "estimate", "ci_low", "ci_high"]].round(2)
                     term             role  estimate  ci_low  ci_high
    0           Intercept        intercept     18.44   17.42    19.46
    1         log_session             time      3.00    2.63     3.36
    2              has_ip         exposure     -0.28   -1.69     1.12
    3  has_ip:log_session  exposure × time      1.44    0.94     1.94
    >>> m.random_effects_.round(2)
                        component  variance    sd  correlation
    0            client intercept     16.43  4.05          NaN
    1  client slope (log_session)      0.69  0.83          NaN
    2  intercept–slope covariance      0.58   NaN         0.17
    3                    residual      3.86  1.96          NaN
    """

    def __init__(self, *, outcome: str = "ors_total", exposure: str | None = "has_ip",
                 covariates: Sequence[str] = ("severity",), time: str = "log_session",
                 group: str = "client", random_slopes: bool = True,
                 institution_effects: str | None = "fixed", institution: str = "institution",
                 covariates_by_time: bool = True, by_dropout: bool = False,
                 max_clients: int | None = None, seed: int = 0, confidence: float = 0.95):
        self.outcome, self.exposure, self.covariates = outcome, exposure, covariates
        self.time, self.group, self.random_slopes = time, group, random_slopes
        self.institution_effects, self.institution = institution_effects, institution
        self.covariates_by_time, self.by_dropout = covariates_by_time, by_dropout
        self.max_clients, self.seed, self.confidence = max_clients, seed, confidence

    def fit(self, frame: pd.DataFrame) -> "GrowthModel":
        """Fit to a per-session frame (:func:`evaluation.feedback.sessions.session_frame`)."""
        func = "GrowthModel.fit"
        self._check_parameters(func)
        data, names = self._data(frame, func)
        data = self._sample(data)
        self.n_, self.n_clients_ = len(data), int(data["g"].nunique())

        fixed = self._formula(data, names)
        notes = list(self.notes_)
        fit, slopes, fit_notes = fit_mixed(fixed, data, self.random_slopes)
        notes += fit_notes
        self.converged_ = bool(fit is not None and fit.converged)
        self.formula_ = _rename(fixed, names)
        self.notes_ = notes
        self.random_effects_ = random_effects_table(fit, slopes, self.time)
        n_exposed = int(data.groupby("g")["e"].first().sum()) if "e" in data else None
        self.fixed_effects_ = self._table(fit, names, notes, n_exposed)
        key = self.fixed_effects_["role"] == "exposure × time"
        self.interaction_ = self.fixed_effects_[key].iloc[0] if key.any() else None
        return self

    # -- steps ---------------------------------------------------------------------------------
    def _check_parameters(self, func: str) -> None:
        check_param(func, "institution_effects", self.institution_effects,
                    [Options({"fixed"}), None])
        check_param(func, "max_clients", self.max_clients, [Interval(2, None, integral=True), None])
        check_param(func, "confidence", self.confidence, [Interval(0, 1, closed="neither")])

    def _data(self, frame: pd.DataFrame, func: str):
        """Rows with every column used, renamed to formula-safe names; left-out counts."""
        check_param(func, "frame", frame, ["frame"])
        covariates = self.covariates
        covariates = [covariates] if isinstance(covariates, str) else list(covariates or ())
        roles = {"y": self.outcome, "t": self.time, "g": self.group}
        if self.exposure:
            roles["e"] = self.exposure
        roles.update({f"x{i}": c for i, c in enumerate(covariates)})
        if self.by_dropout:
            roles["d"] = "dropout"
        use_inst = self.institution_effects == "fixed"
        if use_inst:
            roles["inst"] = self.institution
        missing = [c for c in roles.values() if c not in frame.columns]
        if missing:
            hint = " (by_dropout needs a 'dropout' column: give session_frame the episodes)" \
                if "dropout" in missing else ""
            raise ParameterError(f"{func}: the frame has no column(s) {missing}{hint}; it has "
                                 f"{list(frame.columns)[:20]}.")
        if use_inst and frame[self.institution].isna().all():
            raise ParameterError(f"{func}: column {self.institution!r} has no values; give "
                                 f"institution_effects=None to fit without institutions.")
        cols = list(roles.values())
        if len(set(cols)) < len(cols):
            raise ParameterError(f"{func}: a column is named in more than one role: {roles}.")
        data = frame[cols].set_axis(list(roles), axis=1)
        self.left_out_ = {}
        for short, col in roles.items():
            gone = data[short].isna()
            if gone.any():
                self.left_out_[f"missing {col}"] = int(gone.sum())
                data = data[~gone]
        for short in [s for s in ("y", "t", "e", "d") if s in data]:
            values = pd.to_numeric(data[short].astype(float) if data[short].dtype == bool
                                   else data[short], errors="coerce")
            if values.isna().any():
                bad = data[short][values.isna()].iloc[0]
                raise ParameterError(f"{func}: column {roles[short]!r} must be numeric; found "
                                     f"{bad!r}.")
            data = data.assign(**{short: values.astype(float)})
        for short in [s for s in ("e", "d") if s in data]:
            odd = data[short][~data[short].isin([0, 1])]
            if len(odd):
                raise ParameterError(f"{func}: {roles[short]!r} must be 0/1; found "
                                     f"{odd.iloc[0]:g}.")
        if data.empty:
            raise ParameterError(f"{func}: no row has all of {cols} present.")
        if "e" in data and data["e"].nunique() < 2:
            raise ParameterError(f"{func}: exposure {self.exposure!r} has one value "
                                 f"({data['e'].iloc[0]:g}) in the rows used: nothing to compare.")
        self.notes_ = []
        if use_inst and data["inst"].nunique() < 2:
            self.notes_.append("one institution: no institution term")
            data = data.drop(columns="inst")
            del roles["inst"]
        return data.reset_index(drop=True), roles

    def _sample(self, data: pd.DataFrame) -> pd.DataFrame:
        max_clients = None if self.max_clients is None else int(self.max_clients)
        data, self.sampled_, note, gone = sample_clients(
            data, max_clients, group="g", by="e" if "e" in data else None, seed=self.seed,
            name=self.exposure)
        if note:
            self.left_out_["not in the client sample (max_clients)"] = gone
            self.notes_ = self.notes_ + [note]
        return data

    def _formula(self, data: pd.DataFrame, names: dict) -> str:
        terms = ["t * e" if "e" in data else "t"]
        for short in [s for s in names if s.startswith("x")]:
            term = short if pd.api.types.is_numeric_dtype(data[short]) else f"C({short})"
            terms.append(term)
            if self.covariates_by_time:
                terms.append(f"t:{term}")
        if "inst" in data:
            terms.append("C(inst)")
        if "d" in data:
            terms += ["d", "t:d"]
        return "y ~ " + " + ".join(terms)

    def _table(self, fit, names: dict, notes: list, n_exposed) -> pd.DataFrame:
        unit = "ORS points" if self.outcome == "ors_total" else f"{self.outcome} units"
        common = dict(outcome=self.outcome, method=METHOD, n=self.n_clients_, n_exposed=n_exposed,
                      note="; ".join(notes), n_sessions=self.n_)
        if fit is None:
            return estimate_table([estimate_row(
                estimand=self._estimand(), scale=f"slope difference ({unit})", estimate=np.nan,
                term=f"{self.exposure}:{self.time}", role="exposure × time", se=np.nan,
                **common)], extra=EXTRA_COLUMNS)
        z = stats.norm.ppf(0.5 + self.confidence / 2)
        rows = []
        for term, est in fit.fe_params.items():
            se = float(fit.bse_fe[term])
            role = _role(term)
            key = role == "exposure × time"
            rows.append(estimate_row(
                estimand=self._estimand() if key else "fixed effect",
                scale=f"slope difference ({unit})" if key else f"coefficient ({unit})",
                estimate=float(est), ci_low=est - z * se, ci_high=est + z * se,
                p_value=float(2 * stats.norm.sf(abs(est / se))) if se > 0 else np.nan,
                term=_rename_term(term, names), role=role, se=se, **common))
        return estimate_table(rows, extra=EXTRA_COLUMNS)

    def _estimand(self) -> str:
        return (f"difference in change per unit of {self.time}, {self.exposure} 1 vs 0, "
                f"conditional on the covariates")


def growth_model(frame: pd.DataFrame, *, exposure: str | None = "has_ip",
                 covariates: Sequence[str] = ("severity",), time: str = "log_session",
                 random_slopes: bool = True, institution_effects: str | None = "fixed",
                 max_clients: int | None = None, seed: int = 0, **kwargs) -> GrowthModel:
    """Fit a :class:`GrowthModel` (see there for the model, dropout and large data).

    Examples
    --------
    >>> rng = np.random.default_rng(5)
    >>> n, k = 120, 5
    >>> ip = np.repeat(rng.integers(0, 2, n), k)
    >>> t = np.log(np.tile(np.arange(1, k + 1), n))
    >>> y = np.repeat(rng.normal(18, 4, n), k) + (3 + 1.2 * ip) * t + rng.normal(0, 2, n * k)
    >>> df = pd.DataFrame({"client": np.repeat(np.arange(n), k), "log_session": t,
    ...                    "ors_total": y, "has_ip": ip})
    >>> m = growth_model(df, covariates=(), institution_effects=None, max_clients=60)
    >>> m.sampled_["n_clients"], m.n_clients_, m.sampled_["per_stratum"]
    (60, 60, {0: 32, 1: 28})
    >>> bool(m.interaction_["ci_low"] < 1.2 < m.interaction_["ci_high"])
    True
    """
    return GrowthModel(exposure=exposure, covariates=covariates, time=time,
                       random_slopes=random_slopes, institution_effects=institution_effects,
                       max_clients=max_clients, seed=seed, **kwargs).fit(frame)


# helpers ----------------------------------------------------------------------------------------

def _role(term: str) -> str:
    parts = term.split(":")
    kinds = sorted({"time" if p == "t" else "exposure" if p == "e" else "dropout"
                    if p == "d" else "institution" if p.startswith("C(inst)") else "intercept"
                    if p == "Intercept" else "covariate" for p in parts})
    if kinds == ["exposure", "time"]:
        return "exposure × time"
    if len(kinds) == 2:
        other = [k for k in kinds if k != "time"][0]
        return f"{other} × time"
    return kinds[0]


def _rename_term(term: str, names: dict) -> str:
    """A patsy term in the data's names, time last: ``has_ip:log_session``."""
    parts = term.split(":")
    parts = [p for p in parts if p != "t"] + (["t"] if "t" in parts else [])
    out = []
    for part in parts:
        m = re.match(r"C\((\w+)\)(.*)", part)
        # A category's level (the bracket) is data, never a formula name: left as it is.
        out.append(names.get(m.group(1), m.group(1)) + m.group(2) if m else names.get(part, part))
    return ":".join(out)


def _rename(formula: str, names: dict) -> str:
    """The formula (no category levels in it) in the data's column names."""
    return re.sub(r"\b(y|t|e|g|d|inst|x\d+)\b", lambda m: names.get(m.group(1), m.group(1)),
                  formula)

