"""E-values: how strong unmeasured confounding would have to be to explain an estimate away.

:func:`e_value` follows VanderWeele & Ding (2017) and the R package EValue: convert the estimate
and its confidence limits to the risk-ratio scale, then
:math:`E = RR + \\sqrt{RR (RR - 1)}` for :math:`RR \\ge 1` (use :math:`1/RR` below 1). The
E-value for the interval is that of the limit nearer the null, or 1 when the interval
includes the null.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from evaluation.constraints import Interval, Options, check_param, validate_params
from evaluation.errors import ParameterError
from evaluation.estimates import SCALE_OF_CODE, estimate_row, estimate_table

__all__ = ["e_value", "SCALES"]

SCALES = ("RR", "OR", "HR", "RD", "SMD")
SCALE_WORDS = {code: SCALE_OF_CODE[code] for code in SCALES}   # the contract's words
E_VALUE_EXTRAS = ["rr", "rr_ci_low", "rr_ci_high", "true", "e_value_point", "e_value_ci"]
# RR ~ exp(0.91 d) for a standardised mean difference d (VanderWeele 2017); 1.78 = 0.91 * 1.96
SMD_FACTOR = 0.91
SMD_SE_FACTOR = 1.78


def _number(name, value, *, allow_none=True):
    if value is None:
        if allow_none:
            return None
        raise ParameterError(f"{name} is required.")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name}={value!r} must be a number.")
    value = float(value)
    if math.isnan(value):
        return None if allow_none else _raise(f"{name} is missing (NaN).")
    if not math.isfinite(value):
        raise ParameterError(f"{name}={value!r} must be finite.")
    return value


def _raise(message):
    raise ParameterError(message)


def _e_from_rr(rr: float) -> float:
    """E-value of a risk ratio on its own side of 1."""
    if rr < 1:
        rr = 1 / rr
    return rr + math.sqrt(rr * (rr - 1))


@validate_params({"scale": [Options(SCALES)], "rare": ["boolean"]})
def e_value(estimate, ci_low=None, ci_high=None, *, scale: str = "RR", rare: bool = False,
            baseline_risk=None, sd=None, se=None, true: float = 1.0) -> pd.DataFrame:
    """E-value for a point estimate and for its confidence interval.

    Parameters
    ----------
    estimate : float
        The estimate on ``scale``.
    ci_low, ci_high : float, optional
        Confidence limits on the same scale; without them ``e_value_ci`` is NaN.
    scale : {'RR', 'OR', 'HR', 'RD', 'SMD'}
        Risk ratio, odds ratio, hazard ratio, risk difference or (standardised) mean difference.
    rare : bool
        OR and HR: the outcome is rare (< 15 % at the end of follow-up), so that OR ≈ RR and
        HR ≈ RR. Otherwise the common-outcome conversions are used.
    baseline_risk : float, optional
        RD only, required: the risk :math:`p_0` among the unexposed.
    sd : float, optional
        SMD only: the outcome's standard deviation, when ``estimate`` and the limits are raw
        mean differences (they are divided by ``sd``).
    se : float, optional
        SMD only: the SE of the standardised difference, used for the interval when no limits
        are given (EValue's ``evalues.MD(est, se)``): limits :math:`0.91 d \\mp 1.78\\,se` on the
        log-RR scale.
    true : float
        The value to shift the estimate to, on the risk-ratio scale (1 = the null).

    Returns
    -------
    pandas.DataFrame
        One row of an estimate table (:mod:`evaluation.estimates`): the estimate given, with
        ``scale`` spelled out (``'risk ratio'`` …; ``'mean difference'`` for an SMD given in
        raw units with ``sd``), then ``rr, rr_ci_low, rr_ci_high, true, e_value_point,
        e_value_ci``; ``note`` says how the estimate was converted.

    Notes
    -----
    Conversions to the risk ratio (VanderWeele & Ding 2017; VanderWeele 2017):

    * OR, common outcome: :math:`RR \\approx \\sqrt{OR}`; rare: :math:`RR \\approx OR`.
    * HR, common outcome: :math:`RR \\approx (1 - 0.5^{\\sqrt{HR}}) / (1 - 0.5^{\\sqrt{1/HR}})`;
      rare: :math:`RR \\approx HR`.
    * SMD :math:`d`: :math:`RR \\approx \\exp(0.91 d)` (approximate).
    * RD with baseline risk :math:`p_0`: :math:`RR = (p_0 + RD) / p_0`, applied to each limit.
      This treats :math:`p_0` as known; EValue's ``evalues.RD`` works from the 2x2 counts instead.

    With ``true`` other than 1, the ratio :math:`RR/true` (or :math:`true/RR`) replaces RR.

    Tested against every worked example in VanderWeele & Ding (2017) and the EValue
    documentation (tests/data/evalue_examples.csv), to the printed precision.

    In R: ``EValue::evalues.RR(3.9, 1.8, 8.7)``; ``evalues.OR(0.86, 0.75, 0.99, rare = FALSE)``;
    ``evalues.HR(0.56, 0.46, 0.69, rare = FALSE)``; ``evalues.MD(0.5, 0.25)``.

    References
    ----------
    VanderWeele TJ, Ding P (2017). Sensitivity analysis in observational research: introducing
    the E-value. Annals of Internal Medicine 167: 268-274.

    VanderWeele TJ (2017). On a square-root transformation of the odds ratio for a common
    outcome. Epidemiology 28: e58-e60.

    Examples
    --------
    Breastfeeding and infant death (VanderWeele & Ding 2017):

    >>> res = e_value(3.9, 1.8, 8.7, scale="RR")
    >>> print(f"{res.e_value_point[0]:.4f} {res.e_value_ci[0]:.4f}")
    7.2630 3.0000

    A protective estimate (AHRQ leukaemia example): the upper limit is the one nearer the null.

    >>> res = e_value(0.80, 0.71, 0.91)
    >>> print(f"{res.e_value_point[0]:.4f} {res.e_value_ci[0]:.4f}")
    1.8090 1.4286
    """
    est = _number("estimate", estimate, allow_none=False)
    lo = _number("ci_low", ci_low)
    hi = _number("ci_high", ci_high)
    true = _number("true", true, allow_none=False)
    check_param("e_value", "true", true, [Interval(0, None, closed="neither")])
    if (lo is None) != (hi is None):
        raise ParameterError("give both ci_low and ci_high, or neither.")
    if lo is not None and not lo <= est <= hi:
        raise ParameterError(f"the interval ({lo}, {hi}) does not contain the estimate {est}; "
                             "expected ci_low <= estimate <= ci_high.")
    if se is not None and scale != "SMD":
        raise ParameterError("se= is used for scale='SMD' only.")
    notes = []

    if scale in ("RR", "OR", "HR"):
        for name, v in (("estimate", est), ("ci_low", lo), ("ci_high", hi)):
            if v is not None and v <= 0:
                raise ParameterError(f"{name}={v!r}: a ratio ({scale}) must be positive.")
        if scale == "RR" or rare:
            convert = float
            if scale != "RR":
                notes.append(f"rare outcome: {scale} taken as RR")
        elif scale == "OR":
            convert = math.sqrt
            notes.append("common outcome: RR = sqrt(OR)")
        else:
            def convert(hr):
                return (1 - 0.5 ** math.sqrt(hr)) / (1 - 0.5 ** math.sqrt(1 / hr))
            notes.append("common outcome: RR = (1 - 0.5^sqrt(HR)) / (1 - 0.5^sqrt(1/HR))")
    elif scale == "SMD":
        if sd is not None:
            sd = _number("sd", sd)
            if sd is None or sd <= 0:
                raise ParameterError(f"sd={sd!r} must be a positive number.")
        div = sd or 1.0

        def convert(d):
            return math.exp(SMD_FACTOR * d / div)
        notes.append("RR = exp(0.91 d), approximate")
        if se is not None:
            se = _number("se", se)
            if se is None or se <= 0:
                raise ParameterError(f"se={se!r} must be a positive number.")
            if lo is not None:
                raise ParameterError("give ci_low/ci_high or se=, not both.")
    else:  # RD
        p0 = _number("baseline_risk", baseline_risk)
        if p0 is None:
            raise ParameterError("scale='RD' needs baseline_risk= (the risk among the "
                                 "unexposed) to convert the difference to a risk ratio.")
        if not 0 < p0 < 1:
            raise ParameterError(f"baseline_risk={p0!r} must lie strictly between 0 and 1.")
        if not 0 < p0 + est <= 1:
            raise ParameterError(f"estimate={est!r} with baseline_risk={p0!r} gives a risk of "
                                 f"{p0 + est:.4g} among the exposed, outside (0, 1].")
        # A Wald interval for a difference of risks can reach past a risk of 0 or 1. Only the
        # limit nearer the null enters the E-value, and that one lies between the estimate and
        # the null, so clipping the far limit to the possible range changes nothing.
        clipped = [name for name, v in (("ci_low", lo), ("ci_high", hi))
                   if v is not None and not 0 < p0 + v <= 1]
        if clipped:
            notes.append(f"{' and '.join(clipped)} clipped to a possible risk")

        def convert(rd):
            return min(max(p0 + rd, 1e-12), 1.0) / p0
        notes.append(f"RR = (p0 + RD) / p0 with p0 = {p0:g}")

    rr = convert(est)
    rr_lo = convert(lo) if lo is not None else None
    rr_hi = convert(hi) if hi is not None else None
    if scale == "SMD" and se is not None:
        d = est / (sd or 1.0)
        rr_lo = math.exp(SMD_FACTOR * d - SMD_SE_FACTOR * se)
        rr_hi = math.exp(SMD_FACTOR * d + SMD_SE_FACTOR * se)

    e_point = _e_from_rr(rr / true if rr >= true else true / rr)
    if rr_lo is None:
        e_ci = float("nan")
    elif rr_lo <= true <= rr_hi:
        e_ci = 1.0
        notes.append("the interval includes the null: e_value_ci = 1")
    elif rr_lo > true:
        e_ci = _e_from_rr(rr_lo / true)
    else:
        e_ci = _e_from_rr(true / rr_hi)
    word = "mean difference" if scale == "SMD" and sd is not None else SCALE_WORDS[scale]
    row = estimate_row(outcome=None, method="E-value", estimand=None, scale=word, estimate=est,
                       ci_low=lo, ci_high=hi, rr=rr, rr_ci_low=rr_lo, rr_ci_high=rr_hi,
                       true=true, e_value_point=e_point, e_value_ci=e_ci, note="; ".join(notes))
    return estimate_table([row], extra=E_VALUE_EXTRAS).astype(
        {"ci_low": float, "ci_high": float, "rr_ci_low": float, "rr_ci_high": float})
