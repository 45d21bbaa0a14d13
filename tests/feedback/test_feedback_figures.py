"""The feedback figures: person-level pictures only in internal runs, tables drawn as shown."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from evaluation import feedback as fb  # noqa: E402
from evaluation.disclosure import Disclosure  # noqa: E402
from evaluation.disclosure.figure_provenance import figure_record  # noqa: E402
from evaluation.errors import ParameterError  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def sessions():
    rng = np.random.default_rng(1)
    rows = [{"client": f"c{k}", "session": s, "ors_total": 20 + s + rng.normal(),
             "ip": int(k < 30)} for k in range(60) for s in range(1, 6)]
    return pd.DataFrame(rows)


@pytest.fixture
def changes():
    rng = np.random.default_rng(2)
    change = rng.normal(3, 6, 80)
    category = np.where(change >= 5, "reliably improved",
                        np.where(change <= -5, "deteriorated", "no reliable change"))
    return pd.DataFrame({"change": change, "category": category})


def thin_lines(ax):
    return [ln for ln in ax.lines if ln.get_alpha() == 0.25]


def test_trajectories_draw_no_client_without_internal(sessions):
    sdc = Disclosure()
    ax = fb.trajectories_plot(data=sessions, hue="ip", sample=10, sdc=sdc)
    assert thin_lines(ax) == []
    assert figure_record(ax)["person_level"] is False
    assert "internal" in ax.get_title()
    assert sdc.figures and not any(f["person_level"] for f in sdc.figures)


def test_trajectories_of_clients_in_an_internal_run(sessions):
    sdc = Disclosure(internal=True)
    ax = fb.trajectories_plot(data=sessions, hue="ip", sample=10, sdc=sdc, internal=True)
    assert len(thin_lines(ax)) == 20                      # 10 clients in each of two groups
    assert figure_record(ax)["person_level"] is True
    assert sdc.figures == [{"name": "mean ors_total by session and individual clients",
                            "source": None, "person_level": True}]


def test_person_level_asked_in_a_shared_report_is_refused_before_drawing(sessions, changes):
    sdc = Disclosure()
    before = plt.get_fignums()
    for draw in (lambda: fb.trajectories_plot(data=sessions, hue="ip", sdc=sdc, internal=True),
                 lambda: fb.waterfall_plot(changes, sdc=sdc, internal=True),
                 lambda: fb.change_figure(pd.DataFrame(), changes, sdc=sdc, internal=True)):
        with pytest.raises(ParameterError, match="internal"):
            draw()
    assert plt.get_fignums() == before and sdc.figures == []


def test_waterfall_only_internal(changes):
    ax = fb.waterfall_plot(changes, reliable_change=5)
    assert len(ax.patches) == 0
    assert any("internal run" in t.get_text() for t in ax.texts)
    ax = fb.waterfall_plot(changes, reliable_change=5, internal=True)
    assert len(ax.patches) == len(changes)
    assert figure_record(ax)["person_level"] is True


def category_table():
    return pd.DataFrame({"IP": ["IP"] * 4 + ["no IP"] * 4,
                         "category": ["recovered", "reliably improved", "no reliable change",
                                      "deteriorated"] * 2,
                         "count": [40, 30, 27, 3, 21, 19, 23, 17], "n": [100] * 4 + [80] * 4})


def test_category_bars_hidden_in_the_table_are_not_drawn(changes):
    shares = category_table()
    shares["estimate"] = shares["count"] / shares["n"]
    shares["ci_low"], shares["ci_high"] = shares["estimate"] - 0.05, shares["estimate"] + 0.05
    sdc = Disclosure()
    table = sdc.show(shares, name="change categories by IP status")
    axes = fb.change_figure(table, changes, hue="IP", sdc=sdc)
    heights = [round(p.get_height(), 4) for p in axes[0].patches]
    hidden = table.suppressed["estimate"].to_numpy()
    assert hidden.sum() >= 2                               # 3 deteriorated, and its protector
    for value in shares["estimate"][hidden]:
        assert round(value, 4) not in heights
    marks = [t.get_text() for t in axes[0].texts]
    assert "<5" in marks or "·" in marks
    assert len(axes[1].patches) == 0                       # the waterfall: not in a shared report
    assert sdc.figures == [{"name": "change per episode",
                            "source": "change categories by IP status", "person_level": False}]


def test_alliance_plot_from_the_shown_table_draws_no_hidden_point():
    over = pd.DataFrame({"IP": ["IP"] * 3 + ["no IP"] * 3, "session": [1, 2, 3] * 2,
                         "estimate": [34.0, 35, 36, 33, 34, 35], "ci_low": [33.0, 34, 35, 32, 33, 34],
                         "ci_high": [35.0, 36, 37, 34, 35, 36], "n": [40, 30, 3, 50, 40, 30]})
    table = Disclosure().show(over, name="SRS over sessions by IP status")
    ax = fb.alliance_plot(table, cutoff=36.0)
    drawn = np.concatenate([ln.get_ydata() for ln in ax.lines[:2]])
    assert np.isnan(drawn).sum() == table.suppressed["estimate"].sum() >= 1
    assert figure_record(ax)["source"] == "SRS over sessions by IP status"


def test_contrasts_plot_leaves_out_odds_ratios_and_hidden_rows():
    est = pd.DataFrame({"outcome": "change", "method": ["crude", "AIPW", "crude"],
                        "scale": ["mean difference", "mean difference", "odds ratio"],
                        "estimate": [1.0, 2.0, 3.0], "ci_low": [0.0, 1.0, 2.0],
                        "ci_high": [2.0, 3.0, 4.0], "n": [100, 100, 100], "n_exposed": [50, 98, 50]})
    table = Disclosure().show(est, name="FIT outcomes")
    ax = fb.contrasts_plot(table)
    drawn = {round(line.get_xydata()[0][0], 3) for line in ax.lines
             if line.get_marker() == "o" and len(line.get_xydata())}
    assert 3.0 not in drawn and 2.0 not in drawn           # an odds ratio; 2 unexposed
    assert len(ax.get_yticklabels()) == 2


def test_expected_response_leaves_out_points_of_few_clients():
    curves = pd.DataFrame({"intake": 12, "session": [1, 2, 3], "expected": [12.0, 14, 16],
                           "lower": [10.0, 12, 14], "upper": [14.0, 16, 18], "n_clients": [30, 20, 2]})
    ax = fb.expected_response_plot(curves)
    assert np.isnan(ax.lines[0].get_ydata()[2])
    assert any("not drawn" in t.get_text() for t in ax.texts)
