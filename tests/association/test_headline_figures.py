"""The headline figures draw only what the tables above them show (the Karlsborg case)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from evaluation import association as ip  # noqa: E402
from evaluation.describe import coverage  # noqa: E402
from evaluation.disclosure import Disclosure  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_coverage_figure_does_not_draw_what_the_severity_table_hides():
    """Issue 14, leak 1: low (n 25) at 0.32 and high (n 17) at 0.76 were drawn under a table
    hiding them, which gave 8 of 25 and 13 of 17 and so the hidden count of 4."""
    rows = ([("low", 1)] * 8 + [("low", 0)] * 17 + [("moderate", 1)] * 40 + [("moderate", 0)] * 52
            + [("high", 1)] * 13 + [("high", 0)] * 4)
    people = pd.DataFrame(rows, columns=["severity_band", "has_ip"])
    people["institution"] = np.where(np.arange(len(people)) % 2 == 0, "Karlsborg", "Vårli")
    sdc = Disclosure()
    tables = {by: sdc.show(coverage(people, "has_ip", by=by), name=f"IP coverage by {by}")
              for by in ("severity_band", "institution")}
    fig = ip.coverage_figure(tables, sdc=sdc)
    ax = fig.axes[0]
    drawn = np.concatenate([ln.get_xydata() for ln in ax.lines if ln.get_marker() == "o"])
    for hidden_share in (8 / 25, 13 / 17):
        assert not np.isclose(drawn[:, 1], hidden_share).any()
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert sum("hidden" in lab for lab in labels) == tables["severity_band"].suppressed["estimate"].sum()
    assert sdc.figures == [{"name": "IP coverage",
                            "source": ["IP coverage by severity_band", "IP coverage by institution"],
                            "person_level": False}]


def test_forest_figure_draws_no_hidden_estimate():
    est = pd.DataFrame({"outcome": ["y", "y", "z"], "method": ["crude", "AIPW", "crude"],
                        "estimand": "ATE", "scale": ["risk difference", "risk difference", "odds ratio"],
                        "estimate": [0.1, 0.2, 1.5], "ci_low": [0.0, 0.1, 1.1], "ci_high": [0.2, 0.3, 2.0],
                        "n": [100, 100, 100], "n_exposed": [50, 97, 50]})
    sdc = Disclosure()
    table = sdc.show(ip.estimates_shown(est), name="estimates")
    fig = ip.forest_figure(table, sdc=sdc)
    xs = np.concatenate([ln.get_xydata() for a in fig.axes for ln in a.lines
                         if ln.get_marker() == "o"])[:, 0]
    assert not np.isclose(xs, 0.2).any()                    # 3 unexposed
    assert sdc.figures[-1]["source"] == "estimates"
