"""The shared figures draw only what the table beside them shows, and say where they come from.

Each test reads what matplotlib was asked to draw (errorbar points, bar widths, line data) and
compares it with the hidden cells of the SafeTable: a test fails if a hidden estimate, share or
count reaches the Axes, or if a figure does not record its provenance.
"""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from evaluation.describe import coverage  # noqa: E402
from evaluation.disclosure import Disclosure, DisclosureRules  # noqa: E402
from evaluation.disclosure.figure_provenance import (ATTRIBUTE, composed_figure,  # noqa: E402
                                                     figure_record, install_formatter,
                                                     person_level_allowed, record_panel)
from evaluation.disclosure.figures import (curve_plot, distribution_plot, estimate_plot,  # noqa: E402
                                           forest_plot, level_shares_plot, missingness_plot,
                                           trajectory_plot)
from evaluation.errors import ParameterError  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def drawn_points(ax) -> np.ndarray:
    """Every (x, y) point drawn as a marker (errorbar points and plain points; not the caps)."""
    pts = [line.get_xydata() for line in ax.lines
           if len(line.get_xydata()) and line.get_marker() not in ("_", "|", "None", None, "")]
    return np.vstack(pts) if pts else np.empty((0, 2))


def karlsborg_people() -> pd.DataFrame:
    """Severity bands as in the issue: low 25 people of whom 4 have no IP, moderate 60 with 30,
    high 17 of whom 4 have an IP. Low and high must be hidden (4 is a small complement / count)."""
    rows = ([("low", 1)] * 21 + [("low", 0)] * 4 + [("moderate", 1)] * 30 + [("moderate", 0)] * 30
            + [("high", 1)] * 4 + [("high", 0)] * 13)
    return pd.DataFrame(rows, columns=["severity_band", "has_ip"])


def test_coverage_plot_does_not_draw_rows_the_table_hides():
    sdc = Disclosure()
    table = sdc.show(coverage(karlsborg_people(), "has_ip", by="severity_band"),
                     name="IP coverage by severity")
    ax = estimate_plot(table, x="severity_band", sdc=sdc)
    hidden = table.suppressed["estimate"].to_numpy()
    assert hidden.sum() >= 2                     # low and high at least
    points = drawn_points(ax)
    assert sorted(points[:, 0].astype(int)) == sorted(np.flatnonzero(~hidden))
    # No drawn point is one of the hidden estimates (21/25 = 0.84, 4/17 = 0.235).
    raw = coverage(karlsborg_people(), "has_ip", by="severity_band")["estimate"].to_numpy()
    for value in raw[hidden]:
        assert not np.isclose(points[:, 1], value).any()
    labels = [t.get_text() for t in ax.get_xticklabels()]
    for i in np.flatnonzero(hidden):             # the label carries the estimate cell's mark
        assert f"hidden ({table.shown['estimate'].iloc[i]})" in labels[i]


def test_a_plain_frame_gets_the_rules_the_table_would():
    frame = pd.DataFrame({"g": list("abcd"), "n": [40, 3, 30, 50], "estimate": [.5, .2, .4, .6],
                          "ci_low": [.3, .1, .2, .4], "ci_high": [.7, .4, .6, .8]})
    shown = Disclosure().show(frame)
    ax = estimate_plot(frame, x="g")
    assert sorted(drawn_points(ax)[:, 0].astype(int)) == \
        list(np.flatnonzero(~shown.suppressed["estimate"].to_numpy()))
    assert len(drawn_points(ax)) == 2            # b (3 people) and the row protecting it are not drawn
    assert figure_record(ax)["source"] is None   # not a table of the report


def test_a_frame_from_values_draws_no_nan_cell():
    table = Disclosure().show(pd.DataFrame({"g": list("abc"), "n": [40, 3, 30],
                                            "estimate": [.5, .2, .4]}), name="t")
    ax = estimate_plot(table.values, x="g", low="lo", high="hi")
    assert drawn_points(ax)[:, 0].tolist() == [0.0]
    assert all("hidden" in t.get_text() for t in ax.get_xticklabels()[1:])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=60), min_size=2, max_size=7),
       st.integers(min_value=2, max_value=10))
def test_estimate_plot_draws_exactly_the_shown_rows(sizes, min_cell):
    sdc = Disclosure(DisclosureRules(min_cell=min_cell))
    frame = pd.DataFrame({"g": [f"g{i}" for i in range(len(sizes))], "n": sizes,
                          "estimate": np.linspace(0.1, 0.9, len(sizes))})
    frame["ci_low"], frame["ci_high"] = frame["estimate"] - 0.05, frame["estimate"] + 0.05
    table = sdc.show(frame, name="t")
    ax = estimate_plot(table, x="g")
    shown = ~(table.suppressed["estimate"] | table.suppressed["n"]).to_numpy()
    assert sorted(drawn_points(ax)[:, 0].astype(int)) == list(np.flatnonzero(shown))
    plt.close("all")


def test_forest_plot_labels_hidden_rows_and_draws_none():
    est = pd.DataFrame({"outcome": "y", "method": ["crude", "AIPW", "IPW"], "scale": "risk difference",
                        "estimate": [0.1, 0.2, 0.3], "ci_low": [0.0, 0.1, 0.2],
                        "ci_high": [0.2, 0.3, 0.4], "n": [100, 100, 100],
                        "n_exposed": [50, 97, 50]})
    sdc = Disclosure()
    table = sdc.show(est, name="estimates")
    ax = forest_plot(table, y="method", sdc=sdc)
    hidden = table.suppressed["estimate"].to_numpy()
    assert hidden[1]                              # 3 unexposed: a small complement
    assert not np.isin(np.round(drawn_points(ax)[:, 0], 6), est["estimate"][hidden]).any()
    assert "hidden" in ax.get_yticklabels()[1].get_text()
    assert sdc.figures[-1] == {"name": "estimate by method", "source": "estimates",
                               "person_level": False}


def test_curve_plot_breaks_the_line_at_hidden_points():
    over = pd.DataFrame({"session": [1, 2, 3, 4], "estimate": [30.0, 31.0, 32.0, 33.0],
                         "ci_low": [29.0, 30, 31, 32], "ci_high": [31.0, 32, 33, 34],
                         "n": [40, 30, 3, 20]})
    table = Disclosure().show(over, name="over")
    ax = curve_plot(table, x="session")
    y = ax.lines[0].get_ydata()
    hidden = table.suppressed["estimate"].to_numpy()
    assert np.isnan(y[hidden]).all() and np.isfinite(y[~hidden]).all()


def test_missingness_bars_of_hidden_rows_are_not_drawn():
    miss = pd.DataFrame({"source": "s", "variable": ["a", "b", "c", "d"], "n": 262,
                         "n_missing": [149, 1, 20, 30]})
    miss["share_missing"] = miss["n_missing"] / miss["n"]
    table = Disclosure().show(miss, n=None, name="missingness")
    ax = missingness_plot(table)
    widths = {round(p.get_width(), 6) for p in ax.patches}
    assert round(1 / 262, 6) not in widths            # the one person who skipped b
    assert any("hidden" in t.get_text() for t in ax.get_yticklabels())


def test_level_shares_draw_hidden_levels_only_as_their_sum():
    shares = pd.DataFrame({"domain": "housing", "level": [1, 2, 3, 4, 5],
                           "count": [2, 30, 40, 20, 8], "n": 100})
    shares["estimate"] = shares["count"] / 100
    table = Disclosure().show(shares, name="levels")
    ax = level_shares_plot(table, x="estimate", n="count")
    widths = [round(p.get_width(), 6) for p in ax.patches]
    assert 0.02 not in widths and 0.08 not in widths        # level 1 and its protector
    assert 0.1 in widths                                     # drawn together, grey


def test_histogram_hides_a_small_bin_with_another():
    values = pd.DataFrame({"x": [1.0] * 30 + [3.0] * 20 + [5.0] * 2})
    ax = distribution_plot(values, x="x", bins=[0, 2, 4, 6])
    top = ax.patches[0].get_path().vertices[:, 1]
    drawn = [v for v in (top.max(),) if v > 0]
    assert drawn                                             # the bin of 30 is drawn
    heights = np.array(ax.patches[1].get_path().vertices[:, 1])
    # With the bin of 2 alone hidden, the total (52) would give it back: 20 is hidden too.
    assert not np.isclose(heights, 20 / 52 / 2).any()
    assert any("not drawn" in t.get_text() for t in ax.texts)


def test_trajectory_of_a_binary_outcome_hides_small_complements():
    d = pd.DataFrame({"period": [1] * 10 + [2] * 10, "y": [1] * 8 + [0] * 2 + [1] * 5 + [0] * 5})
    ax = trajectory_plot(d, x="period", y="y")
    assert drawn_points(ax)[:, 0].tolist() == [2.0]          # period 1: only 2 without


def test_figure_records_go_to_the_figure_and_the_log():
    sdc = Disclosure()
    fig, axes = plt.subplots(1, 2)
    a = sdc.show(pd.DataFrame({"g": ["x", "y"], "n": [40, 50], "estimate": [.4, .5]}), name="A")
    b = sdc.show(pd.DataFrame({"g": ["x", "y"], "n": [40, 50], "estimate": [.1, .2]}), name="B")
    with composed_figure(fig, "two tables", sdc=sdc):
        estimate_plot(a, x="g", ax=axes[0], low="lo", high="hi")
        estimate_plot(b, x="g", ax=axes[1], low="lo", high="hi")
    record = getattr(fig, ATTRIBUTE)
    assert record["source"] == ["A", "B"] and len(record["panels"]) == 2
    assert sdc.figures == [{"name": "two tables", "source": ["A", "B"], "person_level": False}]


def test_a_failed_composition_leaves_no_figure_to_show():
    fig = plt.figure()
    with pytest.raises(RuntimeError):
        with composed_figure(fig, "broken"):
            raise RuntimeError("boom")
    assert fig.number not in plt.get_fignums()


def test_person_level_needs_an_internal_disclosure():
    assert person_level_allowed("f", False) is False
    assert person_level_allowed("f", True, Disclosure(internal=True)) is True
    with pytest.raises(ParameterError, match="internal"):
        person_level_allowed("f", True, Disclosure())
    sdc = Disclosure()
    ax = plt.subplots()[1]
    with pytest.raises(ParameterError):
        record_panel(ax, "bars per person", person_level=True, sdc=sdc)
    assert ax.figure.number not in plt.get_fignums()         # refused: closed, never shown


def test_the_png_formatter_adds_the_record_to_the_output_metadata():
    from IPython.core.formatters import DisplayFormatter
    from matplotlib.figure import Figure

    class Shell:
        display_formatter = DisplayFormatter()

    shell = Shell()
    png = shell.display_formatter.formatters["image/png"]
    png.for_type(Figure, lambda fig: "iVBORw0KGgo=")
    ax = plt.subplots()[1]
    record_panel(ax, "demo", source="table A")
    assert install_formatter(shell)
    data, metadata = shell.display_formatter.format(ax.figure)
    assert data["image/png"] == "iVBORw0KGgo="
    assert metadata["image/png"]["ipeval"]["figure"] == {"name": "demo", "source": "table A",
                                                         "person_level": False}
    install_formatter(shell)                                  # wrapped once, not twice
    assert not getattr(png.lookup_by_type(Figure).wrapped, "ipeval_provenance", False)
    plain = plt.figure()                                      # a figure without a record
    assert "image/png" not in shell.display_formatter.format(plain)[1]


def test_two_small_bins_that_add_up_to_twice_the_bound_take_a_third_with_them():
    """Bins of 30, 4 and 4 in a group of 38 (its n is in the legend): the two hidden bins add up
    to 8 and each is under 5, so each is 4. The histogram hides a third bin too, as a table
    would (the audit knows what a hidden small bin tells the reader)."""
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    from evaluation.disclosure.figures import distribution_plot
    values = pd.DataFrame({"x": [1.0] * 30 + [3.0] * 4 + [5.0] * 4})
    ax = distribution_plot(values, x="x", bins=[0, 2, 4, 6])
    heights = np.concatenate([p.get_path().vertices[:, 1] for p in ax.patches])
    assert np.allclose(heights, 0)
    plt.close("all")
