"""E-values against the worked examples of VanderWeele & Ding (2017) and the EValue package.

tests/data/evalue_examples.csv is a copy of shared/reference_data/evalue_examples.csv; every row is
checked to the precision it is printed with.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from evaluation.association.evalues import e_value
from evaluation.errors import ParameterError

DATA = Path(__file__).parents[1] / "data" / "evalue_examples.csv"
ROWS = list(csv.DictReader(DATA.open(encoding="utf-8")))


def _tolerance(printed: str) -> float:
    """Half a unit in the last printed decimal place ("3.0" -> 0.05, "7.263034" -> 5e-7)."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return 0.5 * 10 ** -decimals + 1e-12


def _call(row):
    number = lambda s: float(s) if s else None  # noqa: E731
    kwargs = {}
    for option in filter(None, row["option"].split(";")):
        key, value = option.split("=")
        if key == "rare":
            kwargs["rare"] = value.upper() == "TRUE"
        elif key == "true":
            kwargs["true"] = float(value)
        elif key == "se":
            kwargs["se"] = float(value)
        else:  # pragma: no cover - a new option in the reference file
            raise AssertionError(f"unknown option {option!r}")
    scale = {"MD_d": "SMD"}.get(row["measure"], row["measure"])
    return e_value(float(row["est"]), number(row["lo"]), number(row["hi"]), scale=scale, **kwargs)


@pytest.mark.parametrize("row", ROWS, ids=[r["case"] for r in ROWS])
def test_reference_examples(row):
    res = _call(row).iloc[0]
    assert res.e_value_point == pytest.approx(float(row["evalue_point"]),
                                              abs=_tolerance(row["evalue_point"]))
    limit = row["evalue_lower"] or row["evalue_upper"]
    if limit:
        assert res.e_value_ci == pytest.approx(float(limit), abs=_tolerance(limit))
    else:
        assert math.isnan(res.e_value_ci)


def test_reference_file_has_the_readme_examples():
    cases = {r["case"] for r in ROWS}
    assert {"victora_breastfeeding", "ahrq_leukemia_protective"} <= cases
    assert len(ROWS) >= 7


def test_interval_including_null_gives_one():
    res = e_value(1.3, 0.9, 1.8, scale="RR").iloc[0]
    assert res.e_value_ci == 1.0
    assert res.e_value_point == pytest.approx(1.3 + math.sqrt(1.3 * 0.3))


def test_protective_uses_upper_limit_and_symmetry():
    a = e_value(0.5, 0.3, 0.8).iloc[0]
    b = e_value(2.0, 1.25, 1 / 0.3).iloc[0]
    assert a.e_value_point == pytest.approx(b.e_value_point)
    assert a.e_value_ci == pytest.approx(b.e_value_ci)


def test_rare_or_and_hr_are_taken_as_rr():
    rr = e_value(2.0, 1.5, 2.7).iloc[0]
    for scale in ("OR", "HR"):
        res = e_value(2.0, 1.5, 2.7, scale=scale, rare=True).iloc[0]
        assert res.e_value_point == pytest.approx(rr.e_value_point)
        assert res.e_value_ci == pytest.approx(rr.e_value_ci)


def test_risk_difference_via_baseline_risk():
    # p0 = 0.2, RD = 0.1 -> RR = 1.5; lower limit RD 0.02 -> RR 1.1
    res = e_value(0.1, 0.02, 0.18, scale="RD", baseline_risk=0.2).iloc[0]
    assert res.rr == pytest.approx(1.5)
    assert res.e_value_point == pytest.approx(1.5 + math.sqrt(1.5 * 0.5))
    assert res.e_value_ci == pytest.approx(1.1 + math.sqrt(1.1 * 0.1))


def test_smd_with_sd_and_limits():
    # raw mean difference 5 with SD 10 -> d = 0.5, same as the EValue MD example's point
    res = e_value(5.0, 1.0, 9.0, scale="SMD", sd=10.0).iloc[0]
    assert res.e_value_point == pytest.approx(2.529142, abs=5e-7)
    assert res.rr_ci_low == pytest.approx(math.exp(0.91 * 0.1))


def test_tidy_columns():
    res = e_value(3.9, 1.8, 8.7)
    assert len(res) == 1
    for col in ("estimate", "ci_low", "ci_high", "scale", "e_value_point", "e_value_ci"):
        assert col in res.columns


@pytest.mark.parametrize("kwargs, word", [
    (dict(estimate=2.0, ci_low=1.1, ci_high=3.0, scale="XX"), "scale"),
    (dict(estimate=-2.0, ci_low=-3.0, ci_high=-1.0, scale="RR"), "positive"),
    (dict(estimate=0.1, ci_low=0.0, ci_high=0.2, scale="RD"), "baseline_risk"),
    (dict(estimate=2.0, ci_low=2.5, ci_high=3.0), "interval"),
    (dict(estimate=2.0, ci_low=1.5, ci_high=None), "both"),
    (dict(estimate="2"), "number"),
])
def test_bad_input(kwargs, word):
    with pytest.raises(ParameterError, match=word):
        e_value(**kwargs)


def test_risk_difference_whose_far_limit_passes_a_risk_of_one():
    # p0 = 0.6, RD 0.2 [0.05, 0.43]: the upper limit would be a risk of 1.03. It is clipped;
    # the E-value of the CI rests on the lower limit alone (RR 0.65/0.6), so it is unchanged.
    res = e_value(0.2, 0.05, 0.43, scale="RD", baseline_risk=0.6).iloc[0]
    rr_low = 0.65 / 0.6
    assert res.e_value_ci == pytest.approx(rr_low + math.sqrt(rr_low * (rr_low - 1)))
    assert res.rr_ci_high == pytest.approx(1 / 0.6)
    assert "clipped" in res.note
    with pytest.raises(ParameterError, match="outside"):       # the estimate itself cannot be
        e_value(0.45, 0.3, 0.5, scale="RD", baseline_risk=0.6)
