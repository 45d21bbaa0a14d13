"""The comparison figures draw only what their tables show."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from evaluation.comparison import event_study_plot, institutions_figure  # noqa: E402
from evaluation.comparison.institutions import funnel_data  # noqa: E402
from evaluation.comparison.plots import programme_trends_plot  # noqa: E402
from evaluation.disclosure import Disclosure  # noqa: E402
from evaluation.disclosure.figure_provenance import figure_record  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_institutions_figure_draws_only_shown_units():
    counts = pd.DataFrame({"site": list("abcde"), "ip": [20, 12, 40, 30, 2],
                           "persons": [100, 20, 400, 34, 60]})
    points, limits = funnel_data(counts, unit="site", successes="ip", n="persons")
    effects = pd.DataFrame({"unit": list("abcde"), "estimate": [0.3, -0.1, 0.5, 0.2, 0.1],
                            "ci_low": [0.1, -0.3, 0.0, 0.0, -0.1], "ci_high": [0.5, 0.1, 1.0, 0.4, 0.3],
                            "raw_effect": [0.35, -0.12, 0.9, 0.25, 0.1], "n": [100, 20, 400, 3, 60]})
    sdc = Disclosure()
    shown_points = sdc.show(points, name="IP coverage by institution (funnel)")
    shown_effects = sdc.show(effects, name="institution effects")
    axes = institutions_figure(shown_points, limits, shown_effects, variable="y", sdc=sdc)
    offsets = axes[0].collections[0].get_offsets()
    hidden = shown_points.suppressed["estimate"].to_numpy()
    assert hidden[4]                                          # 2 of 60 with an IP
    assert len(offsets) == (~hidden).sum()
    assert not np.isclose(np.asarray(offsets)[:, 1], 2 / 60).any()
    labels = [t.get_text() for t in axes[1].get_yticklabels()]
    assert not any(lab.startswith("d ") for lab in labels)   # unit d: 3 people
    record = figure_record(axes[0])
    assert record["source"] == ["IP coverage by institution (funnel)", "institution effects"]
    assert sdc.figures[-1]["name"] == "institutions side by side"


def test_event_study_plot_leaves_out_hidden_coefficients():
    events = pd.DataFrame({"outcome": "y", "event_time": [-2, -1, 0, 1],
                           "estimate": [0.01, 0.0, 0.1, 0.12], "ci_low": [-0.05, np.nan, 0.03, 0.04],
                           "ci_high": [0.07, np.nan, 0.17, 0.2], "n": [50, 60, 3, 40]})
    table = Disclosure().show(events, name="event study")
    ax = event_study_plot(table)
    xs = ax.lines[0].get_xdata()
    assert 0 not in list(xs)
    assert figure_record(ax)["source"] == "event study"


def test_programme_trends_hide_shares_of_few_people():
    rows = [{"period": p, "treated": t, "goal": int(k < (2 if (p, t) == (1, 1) else 10))}
            for p in (1, 2) for t in (0, 1) for k in range(20)]
    ax = programme_trends_plot(pd.DataFrame(rows), y="goal")
    drawn = np.concatenate([ln.get_xydata() for ln in ax.lines if ln.get_marker() == "o"])
    assert not np.isclose(drawn[:, 1], 2 / 20).any()          # 2 of 20 in period 1
    assert any("not drawn" in t.get_text() for t in ax.texts)
