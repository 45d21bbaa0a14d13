"""Random-effects meta-analysis and pooling a batch's per-institution estimates (issue 9).

Reference: the BCG vaccine trials (Colditz et al. 1994; tests/data/bcg.csv, metafor's
``dat.bcg``) as log risk ratios, ``escalc(measure="RR")``. metafor's published fits:

* ``rma(yi, vi, method="REML")``: estimate −0.7145 (SE 0.1798, z −3.9744, CI −1.0669 to
  −0.3622), τ² 0.3132, I² 92.22 %, H² 12.86, Q(12) = 152.2330 (metafor's printed output);
* ``rma(yi, vi, method="DL")``: −0.7141 (CI −1.0644 to −0.3638, z −3.9952), τ² 0.3088,
  I² 92.1173 %, H² 12.6861 (metafor's tests ``test_misc_metan_vs_rma.uni_with_dat.bcg.r`` and
  ``test_misc_confint.r``, checked there against Stata's metan);
* iterated DL (``method="DLIT"``), which converges to the Paule–Mandel estimator: τ² 0.3181
  (``test_misc_rma_uni.r``).
"""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats
from statsmodels.stats.meta_analysis import combine_effects

from evaluation.batch.results import read_results, write_results
from evaluation.comparison.plots import meta_forest_plot
from evaluation.comparison.meta_analysis import batch_records, meta_analysis, pool_batch, reml_tau2
from evaluation.disclosure import DisclosureRules
from evaluation.errors import ParameterError

DATA = Path(__file__).parents[1] / "data"


@pytest.fixture(scope="module")
def bcg() -> pd.DataFrame:
    d = pd.read_csv(DATA / "bcg.csv", comment="#")
    d["yi"] = np.log(d.tpos / (d.tpos + d.tneg)) - np.log(d.cpos / (d.cpos + d.cneg))
    d["vi"] = 1 / d.tpos - 1 / (d.tpos + d.tneg) + 1 / d.cpos - 1 / (d.cpos + d.cneg)
    d["sei"] = np.sqrt(d["vi"])
    d["study"] = d["author"] + " " + d["year"].astype(str)
    return d


def test_bcg_data_is_metafors(bcg):
    assert len(bcg) == 13
    # escalc(measure="RR") values printed by metafor for the first and the largest trial
    assert bcg.loc[0, "yi"] == pytest.approx(-0.8893, abs=5e-5)
    assert bcg.loc[7, "yi"] == pytest.approx(0.0120, abs=5e-5)
    assert bcg.loc[0, "vi"] == pytest.approx(0.3256, abs=5e-5)


def test_reml_reproduces_metafor(bcg):
    res = meta_analysis(bcg, estimate="yi", se="sei", label="study", method="REML")
    assert res.estimate == pytest.approx(-0.7145, abs=5e-5)
    assert res.se == pytest.approx(0.1798, abs=5e-5)
    assert res.z == pytest.approx(-3.9744, abs=5e-4)
    assert (res.ci_low, res.ci_high) == pytest.approx((-1.0669, -0.3622), abs=5e-5)
    assert res.tau2 == pytest.approx(0.3132, abs=5e-5)
    assert res.i2_percent == pytest.approx(92.22, abs=5e-3)
    assert res.h2 == pytest.approx(12.86, abs=5e-3)
    assert res.q == pytest.approx(152.2330, abs=5e-4) and res.q_df == 12
    assert res.k == 13 and res.studies["weight"].sum() == pytest.approx(100)


def test_dl_reproduces_metafor_and_statsmodels(bcg):
    res = meta_analysis(bcg, estimate="yi", se="sei", method="DL")
    assert res.estimate == pytest.approx(-0.7141, abs=5e-5)
    assert (res.ci_low, res.ci_high) == pytest.approx((-1.0644, -0.3638), abs=5e-5)
    assert res.z == pytest.approx(-3.9952, abs=5e-4)
    assert res.tau2 == pytest.approx(0.3088, abs=5e-5)
    assert res.i2_percent == pytest.approx(92.1173, abs=5e-4)
    assert res.h2 == pytest.approx(12.6861, abs=5e-4)
    sm = combine_effects(bcg["yi"].to_numpy(), bcg["vi"].to_numpy(), method_re="dl")
    assert res.estimate == pytest.approx(sm.mean_effect_re)
    assert res.se == pytest.approx(sm.summary_frame().loc["random effect", "sd_eff"])
    assert res.i2_percent / 100 == pytest.approx(sm.i2)       # (Q − df) / Q for DL
    pm = meta_analysis(bcg, estimate="yi", se="sei", method="PM")
    assert pm.tau2 == pytest.approx(0.3181, abs=5e-5)


def test_reml_tau2_maximises_the_restricted_likelihood():
    rng = np.random.default_rng(4)
    for _ in range(5):
        k = int(rng.integers(4, 15))
        v = rng.uniform(0.01, 0.3, k)
        y = rng.normal(0.2, np.sqrt(v + rng.uniform(0, 0.2)))

        def neg_restricted_loglik(tau2):
            w = 1 / (v + tau2)
            mu = (w * y).sum() / w.sum()
            return 0.5 * (np.log(v + tau2).sum() + np.log(w.sum()) + (w * (y - mu) ** 2).sum())

        best = optimize.minimize_scalar(neg_restricted_loglik, bounds=(0, 5), method="bounded",
                                        options={"xatol": 1e-10})
        tau2, converged = reml_tau2(y, v)
        assert converged
        assert tau2 == pytest.approx(max(best.x, 0), abs=1e-5)


def test_prediction_interval(bcg):
    res = meta_analysis(bcg, estimate="yi", se="sei")
    half = stats.t.ppf(0.975, 11) * np.sqrt(res.tau2 + res.se ** 2)   # Higgins et al. 2009
    assert (res.pi_low, res.pi_high) == pytest.approx((res.estimate - half, res.estimate + half))
    assert (res.pi_low, res.pi_high) == pytest.approx((-2.0084, 0.5793), abs=5e-4)
    z = meta_analysis(bcg, estimate="yi", se="sei", prediction="z")   # metafor's default
    assert (z.pi_low, z.pi_high) == pytest.approx((-1.8667, 0.4376), abs=5e-4)
    two = meta_analysis(bcg.iloc[:2], estimate="yi", se="sei")
    assert np.isnan(two.pi_low) and "k ≥ 3" in "; ".join(two.notes)


def test_ratios_on_the_log_scale_from_their_cis(bcg):
    z = stats.norm.ppf(0.975)
    ratios = pd.DataFrame({"rr": np.exp(bcg["yi"]), "lo": np.exp(bcg["yi"] - z * bcg["sei"]),
                           "hi": np.exp(bcg["yi"] + z * bcg["sei"])})
    res = meta_analysis(ratios, estimate="rr", ci_low="lo", ci_high="hi", scale="log")
    assert res.estimate == pytest.approx(np.exp(-0.7145), abs=5e-5)         # 0.4894
    assert (res.ci_low, res.ci_high) == pytest.approx((0.3441, 0.6962), abs=5e-5)
    assert res.tau2 == pytest.approx(0.3132, abs=5e-5) and not res.notes
    linear = meta_analysis(ratios, estimate="rr", ci_low="lo", ci_high="hi")
    assert "not symmetric" in "; ".join(linear.notes)


def test_meta_analysis_errors(bcg):
    with pytest.raises(ParameterError, match="method"):
        meta_analysis(bcg, estimate="yi", se="sei", method="ML")
    with pytest.raises(ParameterError, match="two or more"):
        meta_analysis(bcg.iloc[:1], estimate="yi", se="sei")
    with pytest.raises(ParameterError, match="positive ratios"):
        meta_analysis(bcg, estimate="yi", se="sei", scale="log")
    with pytest.raises(ParameterError, match=r"\['ci_low', 'ci_high'\]"):
        meta_analysis(bcg, estimate="yi")
    part = bcg.assign(sei=bcg["sei"].where(bcg.index != 3))
    res = meta_analysis(part, estimate="yi", se="sei", label="study")
    assert res.k == 12 and "Hart & Sutherland 1977" in res.notes[0]


# -- pool_batch -------------------------------------------------------------------------------

def _batch(tmp_path, runs, results) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    write_results(tmp_path, pd.DataFrame(runs), pd.DataFrame(results))
    return read_results(tmp_path / "results.duckdb")


@pytest.fixture
def batch_db(tmp_path):
    sites = ["all", "A", "B", "C", "D", "E", "F"]
    runs = {"run_id": [f"r{i}" for i in range(len(sites))], "label": sites,
            "grid": [json.dumps({"institution": s, "outcome": "chaos"}) for s in sites],
            "status": ["ok", "ok", "ok", "ok", "failed", "ok", "ok"]}
    md = "chaos/AIPW/ATE/mean difference"
    orr = "chaos/gee/population-averaged/odds ratio"
    rows = []
    estimates = {"all": -0.3, "A": -0.2, "B": -0.4, "C": -0.25, "D": -0.5, "E": -0.35, "F": -0.1}
    for i, s in enumerate(sites):
        e = estimates[s]
        rows.append({"run_id": f"r{i}", "name": md, "value": str(e), "estimate": e,
                     "ci_low": e - 0.2, "ci_high": e + 0.2, "p_value": 0.01,
                     "n": 3.0 if s == "F" else 100.0, "extra": None})
        rows.append({"run_id": f"r{i}", "name": orr, "value": "", "estimate": np.exp(e),
                     "ci_low": np.exp(e - 0.3) if s != "E" else np.nan,
                     "ci_high": np.exp(e + 0.3) if s != "E" else np.nan, "p_value": 0.05,
                     "n": 100.0, "extra": None})
    return _batch(tmp_path, runs, rows)


def test_pool_batch_leaves_out_the_pooled_failed_small_and_incomplete(batch_db):
    out = pool_batch(batch_db, name="chaos/*")
    assert out["name"].tolist() == ["chaos/AIPW/ATE/mean difference",
                                    "chaos/gee/population-averaged/odds ratio"]
    md, orr = out.iloc[0], out.iloc[1]
    assert md["units"] == "A, B, C, E" and md["k"] == 4
    assert "all (the pooled run)" in md["note"] and "D (run failed)" in md["note"]
    assert "F (fewer than 5 people)" in md["note"]
    assert orr["units"] == "A, B, C, F" and orr["analysis_scale"] == "log"
    assert "E (no estimate or CI)" in orr["note"]
    kept = pd.DataFrame({"estimate": [-0.2, -0.4, -0.25, -0.35]})
    kept["ci_low"], kept["ci_high"] = kept["estimate"] - 0.2, kept["estimate"] + 0.2
    direct = meta_analysis(kept).to_frame().iloc[0]
    for col in ["estimate", "ci_low", "ci_high", "tau2", "pi_low", "pi_high", "q"]:
        assert md[col] == pytest.approx(direct[col])
    assert md["n"] == 400
    assert orr["estimate"] == pytest.approx(np.exp(np.mean([-0.2, -0.4, -0.25, -0.1])))
    looser = pool_batch(batch_db, name="chaos/AIPW/*", rules=DisclosureRules(min_cell=2))
    assert looser.iloc[0]["k"] == 5


def test_batch_records_and_errors(batch_db, tmp_path):
    recs = batch_records(batch_db, name="chaos/AIPW/*")
    assert recs["left_out"].notna().sum() == 3 and len(recs) == 7
    with pytest.raises(ParameterError, match="no result named like"):
        pool_batch(batch_db, name="goal/*")
    with pytest.raises(ParameterError, match="'site' in its grid"):
        pool_batch(batch_db, name="chaos/*", by="site")
    twice = _batch(tmp_path / "twice",
                   {"run_id": ["a", "b"], "label": ["a", "b"], "status": "ok",
                    "grid": [json.dumps({"institution": "A", "seed": s}) for s in (1, 2)]},
                   {"run_id": ["a", "b"], "name": "x/y", "value": "", "estimate": [0.1, 0.2],
                    "ci_low": [0.0, 0.1], "ci_high": [0.2, 0.3], "p_value": 0.5,
                    "n": [50.0, 50.0], "extra": None})
    with pytest.raises(ParameterError, match="more than one record"):
        pool_batch(twice, name="x/*")


def test_pool_batch_on_the_tables_of_read_results(batch_db, tmp_path):
    a = pool_batch(batch_db, name="chaos/AIPW/*")
    b = pool_batch(read_results(tmp_path), name="chaos/AIPW/*")
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ParameterError, match="read_results"):
        pool_batch(tmp_path, name="chaos/AIPW/*")


def test_meta_forest_plot(bcg):
    res = meta_analysis(bcg.assign(n=[3] + [100] * 12), estimate="yi", se="sei", label="study")
    ax = meta_forest_plot(res.studies, res)
    assert isinstance(ax, plt.Axes)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == "Pooled (random effects)" and "not drawn" in labels[0]
    assert any("2 study row(s)" in t.get_text() for t in ax.texts)   # the 3, and one protecting it
    ratios = meta_analysis(pd.DataFrame({"rr": [0.5, 0.7, 0.6], "lo": [0.3, 0.5, 0.4],
                                         "hi": [0.83, 0.98, 0.9]}),
                           estimate="rr", ci_low="lo", ci_high="hi", scale="log")
    ax = meta_forest_plot(ratios.studies, ratios.to_frame())
    assert ax.get_xscale() == "log"
    plt.close("all")
