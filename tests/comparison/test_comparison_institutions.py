"""BrukerPlan year over year, funnel plots and shrunken institution effects (issue 9).

The BrukerPlan checks run on the small synthetic study of conftest.py, whose ground truth
(``ground_truth.json``, key ``brukerplan``) says how much function improves per later mapping
year on the latent scale: a positive ``year_improvement_latent`` means lower (better) levels in
the later year, so odds ratios of a worse level below 1. Funnel limits are checked against a
binomial case worked by hand with scipy; BLUPs against statsmodels' own ``random_effects``.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from evaluation.comparison import brukerplan as bp
from evaluation.comparison import brukerplan_groups as bpg
from evaluation.comparison import plots as cplots
from evaluation.comparison.institutions import binomial_limits, funnel_data, shrunken_effects
from evaluation.disclosure import DisclosureRules
from evaluation.errors import ParameterError


@pytest.fixture(scope="module")
def mapping(small_loaded):
    return small_loaded.table("brukerplan")


@pytest.fixture(scope="module")
def persons(small_loaded):
    return small_loaded.person_table()


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# -- BrukerPlan -------------------------------------------------------------------------------

def test_level_shares_sum_to_one_and_ci_is_wilson(mapping):
    t = bp.level_shares_by_year(mapping)
    sums = t.groupby(["domain", "year"])["estimate"].sum()
    assert np.allclose(sums, 1.0)
    assert set(t["level"]) == {1, 2, 3, 4, 5}
    assert (t.groupby(["domain", "year"]).size() == 5).all()
    lo, hi = proportion_confint(t["count"], t["n"], alpha=0.05, method="wilson")
    assert np.allclose(t["ci_low"], lo) and np.allclose(t["ci_high"], hi)
    one = t[(t.domain == "bp_housing") & (t.year == t.year.min())]
    first = mapping[mapping.year == mapping.year.min()]
    assert one.set_index("level")["count"].to_dict() == {
        lv: int((first["bp_housing"] == lv).sum()) for lv in range(1, 6)}


def test_level_out_of_range_is_a_named_error(mapping):
    bad = mapping.copy()
    bad.loc[bad.index[3], "bp_economy"] = 6
    with pytest.raises(ParameterError, match="bp_economy.*6"):
        bp.level_shares_by_year(bad)
    with pytest.raises(ParameterError, match="unknown BrukerPlan domain"):
        bp.level_shares_by_year(mapping, domains=["sleep"])


def test_year_difference_keeps_pairs(mapping):
    t = bp.year_difference(mapping, n_boot=400)
    y0, y1 = int(mapping.year.min()), int(mapping.year.max())
    ids = lambda y: set(mapping.loc[mapping.year == y, "person_id"])  # noqa: E731
    assert (t["n_paired"] == len(ids(y0) & ids(y1))).all()
    assert (t["n"] == len(ids(y0) | ids(y1))).all()
    shares = t[t.measure != "mean level"]
    assert np.allclose(shares.groupby("domain")["estimate"].sum(), 0)
    assert ((t["ci_low"] <= t["estimate"]) & (t["estimate"] <= t["ci_high"])).all()
    # The bootstrap over persons keeps the positive correlation of a person's two ratings, so
    # the mean difference is more precise than two independent samples would make it.
    mean = t[t.measure == "mean level"].set_index("domain")
    for domain, row in mean.iterrows():
        a = mapping.loc[mapping.year == y0, domain]
        b = mapping.loc[mapping.year == y1, domain]
        independent = np.sqrt(a.var() / len(a) + b.var() / len(b))
        assert row["se"] < independent
        assert row["estimate_to"] - row["estimate_from"] == pytest.approx(row["estimate"])


def test_year_difference_needs_one_row_per_person_and_year(mapping):
    doubled = pd.concat([mapping, mapping.iloc[:1]])
    with pytest.raises(ParameterError, match="one person per row and year"):
        bp.year_difference(doubled, n_boot=10)
    with pytest.raises(ParameterError, match="two different mapping years"):
        bp.year_difference(mapping, years=(1999, 2000), n_boot=10)


def test_ordinal_model_direction_matches_the_planted_improvement(mapping, small_truth):
    improvement = small_truth["brukerplan"]["year_improvement_latent"]
    if improvement == 0:
        pytest.skip("the generator plants no change between years")
    ors = pd.concat([bp.ordinal_year_model(mapping, domain=d) for d in bp.domain_columns()])
    last = ors[ors["year"] == ors["year"].max()]
    assert len(last) == 8
    assert ((last["estimate"] < 1) == (improvement > 0)).all()
    assert (last["n_persons"] < last["n"]).all()          # persons mapped in both years
    assert last["method"].str.contains("clustered").all()
    diff = bp.year_difference(mapping, n_boot=200)
    assert ((diff.loc[diff.measure == "mean level", "estimate"] < 0) == (improvement > 0)).all()


def test_ordinal_model_matches_statsmodels_and_takes_covariates(mapping):
    from statsmodels.miscmodels.ordinal_model import OrderedModel
    res = bp.ordinal_year_model(mapping, domain="housing", covariates=["rop_group"])
    assert res["adjusted_for"].iloc[0] == "rop_group"
    d = mapping.dropna(subset=["bp_housing", "rop_group"])
    later = (d["year"] == d["year"].max()).astype(float).rename("later")
    X = pd.concat([later, pd.get_dummies(d["rop_group"], drop_first=True, dtype=float)], axis=1)
    fit = OrderedModel(d["bp_housing"].astype(int), X, distr="logit").fit(method="bfgs", disp=False)
    assert res["log_odds_ratio"].iloc[0] == pytest.approx(fit.params["later"], abs=1e-4)
    with pytest.raises(ParameterError, match="two or more years"):
        bp.ordinal_year_model(mapping, domain="housing", years=[int(mapping.year.max())])


def test_critical_group_uses_the_yaml_rule_and_accepts_another(mapping):
    t = bpg.critical_group(mapping)
    flagged = mapping.groupby("year")["brukerplan_critical"].agg(["sum", "count"])
    assert t.set_index("year")["count"].to_dict() == {int(y): int(v) for y, v in
                                                       flagged["sum"].items()}
    assert (t["certainty"] == "unverified").all() and (t["rule"] == "red_domains >= 3.0").all()
    loose = bpg.critical_group(mapping, rule={"score": "red_domains", "operator": ">=", "value": 1})
    assert (loose["count"] >= t["count"]).all()
    with pytest.raises(ParameterError, match="rule must be"):
        bpg.critical_group(mapping, rule={"score": "red_domains", "value": 3})


def test_plan_coverage_counts_neither_and_uses_latest_year(mapping):
    t = bpg.plan_coverage(mapping)
    latest = mapping[mapping.year == mapping.year.max()]
    assert t["years"].unique().tolist() == [str(int(mapping.year.max()))]
    assert set(t["plan"]) == {"has_ip", "has_crisis_plan", "neither"}
    neither = t[t.plan == "neither"]
    expected = ((latest.has_ip == 0) & (latest.has_crisis_plan == 0)).sum()
    assert neither["count"].sum() == expected and neither["n"].sum() == len(latest)
    level = bpg.functional_level(latest)
    assert (level == np.floor(latest["brukerplan_mean"] + 0.5)).all()
    by_year = bpg.plan_coverage(mapping, by=["year"])
    assert by_year["n"].sum() == 3 * len(mapping)
    lo, hi = proportion_confint(t["count"], t["n"], method="wilson")
    assert np.allclose(t["ci_low"], lo) and np.allclose(t["ci_high"], hi)


# -- funnel plots -----------------------------------------------------------------------------

def test_exact_binomial_limits_against_a_hand_worked_case():
    n, p0 = 100, 0.3
    for q in (0.025, 0.975):
        r = stats.binom.ppf(q, n, p0)                    # smallest r with F(r) >= q
        f_r, f_below = stats.binom.cdf(r, n, p0), stats.binom.cdf(r - 1, n, p0)
        assert f_below < q <= f_r
        expected = (r - (f_r - q) / (f_r - f_below)) / n
        lo, hi = binomial_limits(n, p0, 0.95)
        got = lo if q < 0.5 else hi
        assert float(got) == pytest.approx(expected, abs=1e-12)
        assert (r - 1) / n <= got <= r / n
    assert (int(stats.binom.ppf(0.025, n, p0)), int(stats.binom.ppf(0.975, n, p0))) == (21, 39)
    lo, hi = binomial_limits(n, p0, 0.95, method="normal")
    half = 1.959964 * np.sqrt(0.3 * 0.7 / 100)
    assert (float(lo), float(hi)) == pytest.approx((0.3 - half, 0.3 + half), abs=1e-6)
    lo998, hi998 = binomial_limits(n, p0, 0.998)
    assert lo998 < lo and hi998 > hi


def test_funnel_points_flags_and_modes_agree(persons):
    points, limits = funnel_data(persons, unit="institution", outcome="has_ip")
    counts = persons.dropna(subset=["has_ip"]).groupby("institution").agg(
        k=("has_ip", "sum"), n=("has_ip", "size")).reset_index()
    again, _ = funnel_data(counts, unit="institution", successes="k", n="n")
    pd.testing.assert_frame_equal(points, again)
    assert points["target"].iloc[0] == pytest.approx(counts["k"].sum() / counts["n"].sum())
    for _, row in points.iterrows():
        inside95 = row["lower_95"] <= row["estimate"] <= row["upper_95"]
        inside998 = row["lower_99_8"] <= row["estimate"] <= row["upper_99_8"]
        assert row["flag"] == ("inside" if inside95 else
                               "outside 95%" if inside998 else "outside 99.8%")
    assert set(limits["level"]) == {0.95, 0.998}
    assert (limits["lower"] <= limits["target"]).all() and (limits["upper"] >= limits["target"]).all()


def test_funnel_for_an_adjusted_mean_uses_sigma_over_root_n():
    units = pd.DataFrame({"site": list("abcd"), "mean": [10.0, 12.5, 9.0, 10.2],
                          "n": [100, 25, 400, 50]})
    points, limits = funnel_data(units, unit="site", estimate="mean", n="n", sd=5.0, target=10)
    se = 5 / np.sqrt(units["n"])
    assert np.allclose(points["upper_95"], 10 + stats.norm.ppf(0.975) * se)
    assert np.allclose(points["z"], (units["mean"] - 10) / se)
    assert points.set_index("unit")["flag"].to_dict() == {
        "a": "inside", "b": "outside 95%", "c": "outside 99.8%", "d": "inside"}
    curve = limits[limits.level == 0.998]
    assert np.allclose(curve["upper"], 10 + stats.norm.ppf(0.999) * 5 / np.sqrt(curve["n"]))
    with pytest.raises(ParameterError, match="exactly one"):
        funnel_data(units, unit="site", estimate="mean", outcome="mean", n="n", sd=1)


# -- shrunken effects -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def unequal_units():
    rng = np.random.default_rng(11)
    sizes = {"a": 6, "b": 15, "c": 40, "d": 90, "e": 200, "f": 25}
    effect = {"a": 3.0, "b": -2.0, "c": 1.0, "d": 0.0, "e": -1.0, "f": 2.0}
    unit = np.repeat(list(sizes), list(sizes.values()))
    age = rng.normal(40, 10, len(unit))
    y = 20 + 0.1 * age + np.array([effect[u] for u in unit]) + rng.normal(0, 4, len(unit))
    return pd.DataFrame({"y": y, "unit": unit, "age": age})


def test_blups_equal_mixedlm_and_shrink_small_units_most(unequal_units):
    res = shrunken_effects(unequal_units, outcome="y", unit="unit", covariates=["age"])
    fit = smf.mixedlm("y ~ age", unequal_units, groups=unequal_units["unit"]).fit(reml=True)
    blup = {k: float(v.iloc[0]) for k, v in fit.random_effects.items()}
    assert np.allclose(res["estimate"], res["unit"].map(blup), atol=1e-8)
    cond = {k: float(np.asarray(v)[0, 0]) for k, v in fit.random_effects_cov.items()}
    assert np.allclose(res["se"] ** 2, res["unit"].map(cond))
    by_size = res.sort_values("n")
    assert by_size["shrinkage"].is_monotonic_decreasing
    assert np.allclose(res["estimate"], (1 - res["shrinkage"]) * res["raw_effect"])
    assert (res["estimate"].abs() <= res["raw_effect"].abs() + 1e-12).all()
    assert res["rank"].tolist() == list(range(1, 7))
    low = shrunken_effects(unequal_units, outcome="y", unit="unit", higher_is_better=False)
    assert low.iloc[0]["estimate"] == low["estimate"].min()


def test_shrunken_effects_on_the_study(persons):
    res = shrunken_effects(persons, outcome="daily_chaos", unit="institution",
                           covariates=["age", "severity", "rop_group"])
    assert res["n"].sum() == persons.dropna(subset=["daily_chaos", "age", "severity",
                                                    "rop_group"]).shape[0]
    assert (res["ci_low"] < res["estimate"]).all() and (res["estimate"] < res["ci_high"]).all()
    with pytest.raises(ParameterError, match="two or more units"):
        shrunken_effects(persons.assign(one="x"), outcome="daily_chaos", unit="one")


# -- plots ------------------------------------------------------------------------------------

def test_funnel_plot_hides_units_of_fewer_than_min_cell():
    counts = pd.DataFrame({"site": list("abcd"), "ip": [20, 12, 40, 2],
                           "persons": [100, 20, 400, 4]})
    ax = cplots.funnel_plot(*funnel_data(counts, unit="site", successes="ip", n="persons"))
    assert isinstance(ax, plt.Axes)
    # d (4 people) is not drawn, nor b (20), the smallest other unit, which protects it: with b
    # drawn, d's people would be the total of persons minus the units shown.
    assert len(ax.collections[0].get_offsets()) == 2
    labels = [t.get_text() for t in ax.texts]
    assert "d" not in labels
    ax = cplots.funnel_plot(*funnel_data(counts, unit="site", successes="ip", n="persons"),
                            rules=DisclosureRules(min_cell=2))
    assert len(ax.collections[0].get_offsets()) == 4     # d: 2 with an IP, 2 without, both ≥ 2


def test_caterpillar_and_level_share_plots(unequal_units, mapping):
    res = shrunken_effects(unequal_units, outcome="y", unit="unit")
    ax = cplots.caterpillar_plot(res, rules=DisclosureRules(min_cell=10))
    assert isinstance(ax, plt.Axes)
    # unit a (6 people) is not drawn, nor the next smallest unit, which protects it
    assert len(ax.get_yticklabels()) == 4
    assert any("2 unit(s)" in t.get_text() for t in ax.texts)
    ax = cplots.level_shares_by_year_plot(bp.level_shares_by_year(mapping))
    assert isinstance(ax, plt.Axes)
    assert len(ax.get_yticklabels()) == 8 * mapping["year"].nunique()
