"""A protected table as a reader reads it: labels, not column keys; numbers in the report's
language; shares in per cent and differences of shares in percentage points; one column for a
confidence interval; no running row number; missing as "–"; yes and no for 0/1 keys.

The view changes how a table is written, never what it shows: a hidden cell keeps its mark,
and the table's ``data-ipeval-sdc`` record names its count and share columns by their new
headers, so the output checker reads the same counts as before (headers in Norwegian are not
names it could recognise on its own).

>>> import pandas as pd
>>> from evaluation.language import using
>>> shown = pd.DataFrame({"outcome": ["goal_retention"], "method": ["aipw"],
...                       "scale": ["risk difference"], "estimate": [0.0512],
...                       "ci_low": [-0.012], "ci_high": [0.114], "p_value": [0.0004],
...                       "n": [120], "n_exposed": [60]}, dtype=object)
>>> view = TableView("nb", {"goal_retention": {"nb": "Holder fast ved mål"}})
>>> with using("nb"):
...     frame, kinds = view.frame(shown, keys=["outcome", "method"], counts=["n", "n_exposed"],
...                               shares=[])
>>> frame.iloc[0].tolist()[:4]
['Holder fast ved mål', 'dobbelt robust (AIPW)', 'risikoforskjell (prosentpoeng)', '5,1']
>>> list(frame.columns)[4:], kinds["counts"]
(['95 % KI', 'p', 'n', 'n med IP'], ['n', 'n med IP'])
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from evaluation.language.catalogue import Language, language
from evaluation.language.formats import (MISSING, integer, interval, is_missing, number,
                                         p_value, percent)
from evaluation.language.labels import label_in


def N_(message: str) -> str:
    """Marks a message for the catalogue; it is translated where it is shown."""
    return message


COLUMN_LABELS = {
    "outcome": N_("Outcome"), "method": N_("Method"), "estimand": N_("Estimand"),
    "scale": N_("Scale"), "estimate": N_("Estimate"), "ci": N_("95 % CI"), "p_value": N_("p"),
    "p_adjusted": N_("p, corrected (Holm)"), "n": N_("n"), "n_exposed": N_("n with an IP"),
    "note": N_("Note"), "share": N_("Share"), "count": N_("Number"), "measure": N_("Measure"),
    "institution": N_("Institution"), "se": N_("Standard error"), "e_value": N_("E-value"),
    "e_value_ci": N_("E-value of the CI limit"), "variable": N_("Variable"),
    "level": N_("Level"), "source": N_("Source"), "group": N_("Group"), "mean": N_("Mean"),
    "sd": N_("SD"), "smd": N_("Standardized difference"), "rows": N_("Rows"),
    "reason": N_("Reason"), "n_missing": N_("n missing"), "share_missing": N_("Share missing"),
    "year": N_("Year"), "period": N_("Period"), "code": N_("Code"), "theme": N_("Theme"),
}
VALUE_LABELS = {
    "crude": N_("crude"), "adjusted": N_("adjusted regression"),
    "ipw": N_("propensity-score weighting (IPW)"), "aipw": N_("doubly robust (AIPW)"),
    "mixed": N_("mixed model"), "all": N_("all institutions"),
    "unadjusted": N_("unadjusted"),
    "risk difference": N_("risk difference (percentage points)"),
    "difference in shares": N_("difference in shares (percentage points)"),
    "proportion": N_("proportion"), "mean difference": N_("mean difference (scale points)"),
    "standardized mean difference": N_("standardized mean difference"),
    "risk ratio": N_("risk ratio"), "odds ratio": N_("odds ratio"), "mean": N_("mean"),
    "rate ratio": N_("rate ratio"), "reliability": N_("reliability"),
    "agreement": N_("agreement"), "correlation": N_("correlation"),
    "Total (shown)": N_("Total (shown)"),
}
# Scales whose numbers are shares: written ×100, a proportion in per cent, a difference in
# percentage points.
PERCENT_SCALES = {"proportion"}
POINTS_SCALES = {"risk difference", "difference in shares"}
RATIO_SCALES = {"risk ratio", "odds ratio", "hazard ratio", "rate ratio", "ratio"}


@dataclass(frozen=True)
class TableView:
    """How one report writes its tables: its language and the labels of its variables
    (``{variable: {language: label}}``, from :meth:`evaluation.Study.labels`)."""

    code: str = "en"
    labels: dict = field(default_factory=dict)

    def as_record(self, values: pd.DataFrame) -> dict:
        """What a table's record keeps of the view: the language and the labels its columns
        and keys use (the labels of the whole study would repeat in every table)."""
        words = {str(c) for c in values.columns} | {str(n) for n in values.index.names} \
            | {str(v) for v in values.index.unique()} if not isinstance(
                values.index, pd.RangeIndex) else {str(c) for c in values.columns}
        words |= {str(c) for c in values.columns} | {str(v) for c in values.columns
                                                    if not pd.api.types.is_numeric_dtype(
                                                        values[c])
                                                    for v in values[c].dropna().unique()}
        return {"language": self.code,
                "labels": {k: v for k, v in self.labels.items() if k in words}}

    @classmethod
    def of_record(cls, record: dict | None) -> "TableView | None":
        view = (record or {}).get("view")
        return cls(view["language"], dict(view.get("labels") or {})) if view else None

    @property
    def lang(self) -> Language:
        return language(self.code)

    def header(self, column) -> str:
        name = str(column)
        said = label_in(self.labels.get(name), self.code)
        if said is not None:
            return said
        if name in COLUMN_LABELS:
            return self.lang.gettext(COLUMN_LABELS[name])
        return self.lang.gettext(VALUE_LABELS[name]) if name in VALUE_LABELS else name

    def key_value(self, value) -> str:
        if isinstance(value, bool) or str(value) in ("True", "False"):
            return self.lang.gettext("yes") if str(value) == "True" else self.lang.gettext("no")
        if is_missing(value):
            return MISSING
        text = str(value)
        said = label_in(self.labels.get(text), self.code)
        if said is not None:
            return said
        return self.lang.gettext(VALUE_LABELS[text]) if text in VALUE_LABELS else text

    def frame(self, shown: pd.DataFrame, *, keys, counts, shares, marks=("<5", "·"),
              percent_shares=()) -> tuple[pd.DataFrame, dict]:
        """``(the table as written, {"counts": headers, "shares": headers})``."""
        lang = self.lang
        out = pd.DataFrame(index=shown.index)
        scale = shown["scale"].astype(str) if "scale" in shown.columns else None
        kinds = {"counts": [], "shares": []}
        for col in shown.columns:
            s = shown[col]
            if col == "ci_high" or (col == "note" and s.map(_blank).all()):
                continue
            if col == "ci_low" and "ci_high" in shown.columns:
                out[self.header("ci")] = [
                    _mark_of(lo, marks) or _mark_of(hi, marks)
                    or interval(*_scaled(lo, hi, sc), _decimals(sc), lang=lang)
                    for lo, hi, sc in zip(s, shown["ci_high"], _scales(scale, len(s)))]
                continue
            head = self.header(col)
            if col in keys or col in ("scale", "measure", "method", "estimand", "note"):
                out[head] = [self.key_value(v) for v in s]
            elif col in counts:
                out[head] = [_mark_of(v, marks) or integer(v, lang=lang) for v in s]
                kinds["counts"].append(head)
            elif col in shares:
                hundred = col in percent_shares
                out[head] = [_mark_of(v, marks) or percent(_num(v) / (100 if hundred else 1), 1,
                                                           lang=lang) for v in s]
                kinds["shares"].append(head)
            elif col.startswith("p_") or col == "p":
                out[head] = [_mark_of(v, marks) or p_value(_num(v), lang=lang) for v in s]
            elif col in ("estimate", "se"):
                out[head] = [_mark_of(v, marks) or _estimate(v, sc, lang)
                             for v, sc in zip(s, _scales(scale, len(s)))]
            else:
                out[head] = [_mark_of(v, marks) or _any(v, lang) for v in s]
        return out.reset_index(drop=True), kinds


def _blank(v) -> bool:
    return is_missing(v) or str(v).strip() == ""


def _mark_of(v, marks) -> str | None:
    return v if isinstance(v, str) and v in marks else None


def _num(v):
    return pd.to_numeric(v, errors="coerce")


def _scales(scale, n):
    return list(scale) if scale is not None else [None] * n


def _decimals(sc) -> int:
    return 1 if sc in PERCENT_SCALES | POINTS_SCALES else 2


def _scaled(lo, hi, sc):
    factor = 100 if sc in PERCENT_SCALES | POINTS_SCALES else 1
    return (_num(lo) * factor if not is_missing(_num(lo)) else lo,
            _num(hi) * factor if not is_missing(_num(hi)) else hi)


def _estimate(v, sc, lang: Language) -> str:
    x = _num(v)
    if is_missing(x):
        return MISSING
    if sc in PERCENT_SCALES:
        return percent(x, 1, lang=lang)
    if sc in POINTS_SCALES:
        return number(100 * x, 1, lang=lang)
    return number(x, 2, lang=lang)


def _any(v, lang: Language) -> str:
    if isinstance(v, bool):
        return lang.gettext("yes") if v else lang.gettext("no")
    x = _num(v)
    if is_missing(x):
        return MISSING if _blank(v) else str(v)
    if float(x).is_integer():
        return integer(x, lang=lang)
    return number(x, 2, lang=lang)
