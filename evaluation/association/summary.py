"""The headline report's answer in words: the question, what was found with its size and 95 %
CI, who was compared, and how sure it is — from the estimates *as shown*, so that the sentences
say no number the table hides.

The size is in percentage points for a share (goal retention) and in scale points for a score
(daily chaos), with the direction said in words and whether lower is better. How sure: the
E-value of the estimate and of the CI limit nearer the null (VanderWeele & Ding 2017) when the
interval excludes no difference; otherwise the difference the study could have detected with
80 % power at the 5 % level, 2.8 standard errors (the standard error read off the CI).
"""
from __future__ import annotations

import numpy as np

from evaluation.language.catalogue import active, gettext, ngettext
from evaluation.language.formats import integer, interval, number

# The method the answer is given by, best first: doubly robust, then the others adjusted.
PREFERRED = ("AIPW", "IPW", "adjusted", "mixed", "crude")
HEADLINE_SCALES = ("risk difference", "mean difference")
Z_POWER = 1.959964 + 0.841621        # two-sided 5 %, 80 % power


def answer(shown, frame, study, *, lower_is_better: bool = False,
           covariates=()) -> str:
    """The summary of one outcome (Markdown), from ``shown``: the SafeTable of the estimates
    as the report shows them (``sdc.show(ip.estimates_shown(estimates))``).

    Tested in tests/association/test_summary.py against the estimates it reads (sizes, CIs,
    E-values as the table writes them) and with a hidden row (nothing of it said).
    """
    values, hidden = shown.values.reset_index(drop=True), shown.suppressed.reset_index(drop=True)
    row = _headline_row(values, frame.outcome)
    outcome = f"**{study.label(frame.outcome, active().code)}**"
    lines = [gettext("**Question.** Do residents with an individual plan (IP) differ from those "
                     "without one in {outcome}, once the measured differences between them are "
                     "accounted for?").format(outcome=outcome)]
    if row is None or hidden.loc[row, ["estimate", "ci_low", "ci_high"]].any():
        lines.append(gettext("**Answer.** The estimate is not shown: it rests on too few people "
                             "to be shown without giving someone away."))
        return "\n\n".join(lines)
    r = values.loc[row]
    points = r["scale"] == "risk difference"
    factor, unit = (100.0, gettext("percentage points")) if points else \
        (1.0, gettext("scale points"))
    clear = r["ci_low"] > 0 or r["ci_high"] < 0
    # a direction said in words takes the size without its sign; no direction keeps the sign
    size = number((abs(r["estimate"]) if clear else r["estimate"]) * factor, 1 if points else 2)
    ci = interval(r["ci_low"] * factor, r["ci_high"] * factor, 1 if points else 2)
    lines.append(_found(r["estimate"], clear, lower_is_better, points).format(
        size=size, unit=unit, ci=ci, outcome=outcome))
    lines.append(_compared(r, hidden.loc[row], frame, study, covariates))
    lines.append(_how_sure(r, hidden.loc[row], clear, factor, unit, points))
    return "\n\n".join(lines)


def _headline_row(values, outcome):
    rows = values[(values["outcome"] == outcome) & values["scale"].isin(HEADLINE_SCALES)]
    for method in PREFERRED:
        at = rows.index[rows["method"] == method]
        if len(at):
            return at[0]
    return None


def _found(estimate, clear, lower_is_better, points) -> str:
    if not clear:
        return gettext("**Answer.** The study found no clear difference: {size} {unit} "
                       "(95 % CI {ci}), an interval that includes no difference.")
    higher = estimate > 0
    better = higher != lower_is_better
    if points:
        said = (gettext("**Answer.** Among residents with an IP, {outcome} was more common: "
                        "{size} {unit} more (95 % CI {ci}).") if higher else
                gettext("**Answer.** Among residents with an IP, {outcome} was less common: "
                        "{size} {unit} fewer (95 % CI {ci})."))
    else:
        said = (gettext("**Answer.** Residents with an IP scored higher on {outcome}: {size} "
                        "{unit} higher (95 % CI {ci}).") if higher else
                gettext("**Answer.** Residents with an IP scored lower on {outcome}: {size} "
                        "{unit} lower (95 % CI {ci})."))
    direction = gettext("Lower is better on this scale, so this is the better direction.") \
        if lower_is_better and better else \
        gettext("Lower is better on this scale, so this is the worse direction.") \
        if lower_is_better else ""
    return said + (" " + direction if direction else "")


def _compared(r, hidden, frame, study, covariates) -> str:
    where = (gettext("at {institution}").format(institution=study.institution)
             if getattr(study, "institution", None) else
             ngettext("at {k} institution", "at {k} institutions",
                      int(frame.data[frame.institution].nunique())).format(
                 k=integer(frame.data[frame.institution].nunique())))
    method = {"AIPW": gettext("doubly robust (AIPW)"), "IPW":
              gettext("propensity-score weighting (IPW)"), "adjusted":
              gettext("adjusted regression"), "mixed": gettext("mixed model"),
              "crude": gettext("crude")}.get(r["method"], str(r["method"]))
    adjusted = ", ".join(study.label(c, active().code) for c in covariates) or gettext("nothing")
    if hidden.get("n", False) or hidden.get("n_exposed", False) or np.isnan(r["n_exposed"]):
        people = gettext("the residents with an answer")
    else:
        people = gettext("{n} residents ({n_exposed} of them with an IP)").format(
            n=integer(r["n"]), n_exposed=integer(r["n_exposed"]))
    return gettext("**Who was compared.** {people} {where}; method {method}, adjusted for "
                   "{adjusted}.").format(people=people, where=where, method=method,
                                         adjusted=adjusted)


def _how_sure(r, hidden, clear, factor, unit, points) -> str:
    if clear:
        e, e_ci = r.get("e_value"), r.get("e_value_ci")
        if e is None or np.isnan(e) or hidden.get("e_value", False):
            return gettext("**How sure.** The whole interval lies on one side of no "
                           "difference; the E-value is not available for this estimate. It "
                           "shows association, not that the IP caused it.")
        return gettext("**How sure.** An unmeasured confounder would have to be associated "
                       "with both IP and the outcome by a risk ratio of at least {e} to explain "
                       "the estimate away, and of {e_ci} to move the interval to include no "
                       "difference. It shows association, not that the IP caused it.").format(
            e=number(e, 2), e_ci=number(e_ci, 2))
    se = (r["ci_high"] - r["ci_low"]) / (2 * 1.959964)
    detectable = number(Z_POWER * se * factor, 1 if points else 2)
    return gettext("**How sure.** With this many people the study could have detected a "
                   "difference of about {size} {unit} (80 % power, 5 % level); a smaller one may "
                   "be there unseen.").format(size=detectable, unit=unit)
