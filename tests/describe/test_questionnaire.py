"""Item distributions and the diverging Likert chart."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from evaluation.errors import ParameterError  # noqa: E402
from evaluation.disclosure import DisclosureRules
from evaluation.describe.questionnaires import item_distribution, likert_plot  # noqa: E402

LEVELS = [1, 2, 3, 4, 5]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def answers():
    rng = np.random.default_rng(5)
    n = 120
    df = pd.DataFrame({
        "q1": rng.integers(1, 6, n),
        "q2": rng.choice([1, 2, 4, 5], n),                 # nobody chose 3
        "q3": rng.integers(2, 6, n).astype(float),         # nobody chose 1, some missing
        "site": rng.choice(["north", "south", "west"], n),
    })
    df.loc[rng.choice(n, 17, replace=False), "q3"] = np.nan
    df.loc[df["site"] == "west", "q1"] = 4                  # every west answer to q1 is 4
    return df


ITEMS = ["q1", "q2", "q3"]


# ---- item_distribution -----------------------------------------------------------------------

def test_columns_and_shares_sum_to_one(answers):
    out = item_distribution(answers, ITEMS, by="site", levels=LEVELS)
    assert list(out.columns) == ["item", "group", "level", "n", "share", "n_item", "n_missing"]
    assert len(out) == len(ITEMS) * 3 * len(LEVELS)
    sums = out.groupby(["item", "group"])["share"].sum()
    assert np.allclose(sums, 1.0)
    counts = out.groupby(["item", "group"])["n"].sum()
    assert (counts == out.groupby(["item", "group"])["n_item"].first()).all()


def test_unobserved_levels_are_zero(answers):
    out = item_distribution(answers, ITEMS, levels=LEVELS)
    q2_3 = out[(out["item"] == "q2") & (out["level"] == 3)].iloc[0]
    q3_1 = out[(out["item"] == "q3") & (out["level"] == 1)].iloc[0]
    assert (q2_3["n"], q2_3["share"]) == (0, 0.0)
    assert (q3_1["n"], q3_1["share"]) == (0, 0.0)
    assert set(out["level"]) == set(LEVELS)


def test_default_levels_are_sorted_observed_values(answers):
    out = item_distribution(answers, ["q2", "q3"])
    # q2 has 1, 2, 4, 5 and q3 2..5: together 1, 2, 3, 4, 5, shared by both items; whole numbers
    # stored as float because of the missing answers come out as 1, 2, ...
    assert list(out.loc[out["item"] == "q2", "level"]) == LEVELS
    assert list(out.loc[out["item"] == "q3", "level"]) == LEVELS
    only_q2 = item_distribution(answers, ["q2"])
    assert list(only_q2["level"]) == [1, 2, 4, 5]


def test_default_levels_follow_categorical_order():
    order = ["disagree", "neutral", "agree"]
    df = pd.DataFrame({"a": pd.Categorical(["agree", "agree", "disagree"], categories=order,
                                           ordered=True),
                       "b": pd.Categorical(["neutral", "agree", None], categories=order,
                                           ordered=True)})
    out = item_distribution(df, ["a", "b"])
    assert list(out.loc[out["item"] == "a", "level"]) == order
    b = out[out["item"] == "b"].set_index("level")
    assert b.loc["disagree", "n"] == 0 and b.loc["agree", "share"] == 0.5
    assert b["n_missing"].iloc[0] == 1


def test_n_item_and_n_missing_match(answers):
    out = item_distribution(answers, ITEMS, by="site", levels=LEVELS)
    first = out.groupby(["item", "group"])[["n_item", "n_missing"]].first()
    for (item, site), row in first.iterrows():
        col = answers.loc[answers["site"] == site, item]
        assert row["n_item"] == col.notna().sum()
        assert row["n_missing"] == col.isna().sum()
    assert first.loc[("q3", slice(None)), "n_missing"].sum() == 17


def test_grouping_matches_crosstab(answers):
    out = item_distribution(answers, ["q1"], by="site", levels=LEVELS)
    table = pd.crosstab(answers["site"], answers["q1"]).reindex(columns=LEVELS, fill_value=0)
    got = out.pivot(index="group", columns="level", values="n")
    assert (got.loc[table.index, LEVELS].to_numpy() == table.to_numpy()).all()
    west = out[out["group"] == "west"].set_index("level")["share"]
    assert west[4] == 1.0 and west.drop(4).eq(0).all()


def test_missing_values_column_shares_are_of_answers_given():
    df = pd.DataFrame({"q": [1, 2, 2, None, None, 3], "g": ["a", "a", "a", "b", "b", "b"]})
    out = item_distribution(df, ["q"], levels=[1, 2, 3])
    assert list(out["n"]) == [1, 2, 1]
    assert out["share"].tolist() == pytest.approx([0.25, 0.5, 0.25])
    assert set(out["n_item"]) == {4} and set(out["n_missing"]) == {2}
    by_group = item_distribution(df, ["q"], by="g", levels=[1, 2, 3])
    b = by_group[by_group["group"] == "b"]
    assert list(b["n_item"]) == [1, 1, 1] and list(b["n_missing"]) == [2, 2, 2]
    everyone_missing = item_distribution(df.assign(q=np.nan), ["q"], levels=[1, 2, 3])
    assert everyone_missing["share"].isna().all() and set(everyone_missing["n_item"]) == {0}


def test_missing_group_is_its_own_group():
    df = pd.DataFrame({"q": [1, 2, 3, 3], "g": ["a", None, "a", None]})
    out = item_distribution(df, ["q"], by="g", levels=[1, 2, 3])
    assert out["group"].isna().sum() == 3
    assert out.loc[out["group"].isna(), "n"].tolist() == [0, 1, 1]


def test_bad_input_is_named(answers):
    with pytest.raises(ParameterError, match="item 'q9' is not a column"):
        item_distribution(answers, ["q1", "q9"])
    with pytest.raises(ParameterError, match="by='region'"):
        item_distribution(answers, ITEMS, by="region")
    with pytest.raises(ParameterError, match=r"column 'q1', row .*value 5 is not one of"):
        item_distribution(answers, ["q1"], levels=[1, 2, 3, 4])
    with pytest.raises(ParameterError, match="items must be a list"):
        item_distribution(answers, "q1")
    with pytest.raises(ParameterError, match="cannot be ordered"):
        item_distribution(pd.DataFrame({"q": [1, "yes"]}), ["q"])


# ---- likert_plot -----------------------------------------------------------------------------

def _left_widths_by_row(ax):
    """Sum of widths of the bar segments entirely left of zero, by bar position."""
    left = {}
    for patch in ax.patches:
        if patch.get_x() + patch.get_width() <= 1e-12:
            y = round(patch.get_y() + patch.get_height() / 2)
            left[y] = left.get(y, 0.0) + patch.get_width()
    return left


def test_likert_plot_left_of_zero_is_below_neutral_plus_half_neutral(answers):
    dist = item_distribution(answers, ITEMS, levels=LEVELS)
    ax = likert_plot(dist)
    assert isinstance(ax, Axes)
    left = _left_widths_by_row(ax)
    for pos, item in enumerate(ITEMS):
        share = dist[dist["item"] == item].set_index("level")["share"]
        assert left.get(pos, 0.0) == pytest.approx(share[1] + share[2] + share[3] / 2)
    total = sum(p.get_width() for p in ax.patches)
    assert total == pytest.approx(len(ITEMS))        # every item's bar spans its whole share
    labels = [t.get_text() for t in ax.get_yticklabels()]
    n_items = dist.groupby("item", sort=False)["n_item"].first()
    assert labels == [f"{item} (n={n_items[item]})" for item in ITEMS]
    assert "q3 (n=103)" in labels                   # 120 answers less 17 missing


def test_likert_plot_explicit_neutral_and_even_levels(answers):
    dist = item_distribution(answers, ["q1"], levels=LEVELS)
    share = dist.set_index("level")["share"]
    ax = likert_plot(dist, neutral=2)
    assert _left_widths_by_row(ax)[0] == pytest.approx(share[1] + share[2] / 2)
    four = item_distribution(answers, ["q2"], levels=[1, 2, 4, 5])
    share4 = four.set_index("level")["share"]
    ax4 = likert_plot(four)                           # even: no neutral, half the levels left
    assert _left_widths_by_row(ax4)[0] == pytest.approx(share4[1] + share4[2])
    with pytest.raises(ParameterError, match="neutral=7"):
        likert_plot(dist, neutral=7)


def test_likert_plot_draws_on_given_ax_one_group_at_a_time(answers):
    dist = item_distribution(answers, ITEMS, by="site", levels=LEVELS)
    with pytest.raises(ParameterError, match="3 groups in column 'group'"):
        likert_plot(dist)
    fig, axes = plt.subplots(1, 3)
    for ax, (site, part) in zip(axes, dist.groupby("group")):
        assert likert_plot(part, ax=ax) is ax
        n_west = answers.loc[answers["site"] == site, "q1"].notna().sum()
        assert ax.get_yticklabels()[0].get_text() == f"q1 (n={n_west})"


def test_likert_plot_with_a_missing_values_column():
    df = pd.DataFrame({"q": [1, 2, 2, None, 5, None], "r": [3, 3, 4, 5, 5, 1]})
    dist = item_distribution(df, ["q", "r"], levels=LEVELS)
    ax = likert_plot(dist, rules=DisclosureRules(min_cell=1))   # geometry only: hide nothing
    assert [t.get_text() for t in ax.get_yticklabels()] == ["q (n=4)", "r (n=6)"]
    left = _left_widths_by_row(ax)
    assert left[0] == pytest.approx(0.25 + 0.5)      # 1 and 2 answered, no neutral answer
    assert left[1] == pytest.approx(1 / 6 + (2 / 6) / 2)


def test_likert_plot_bad_columns(answers):
    dist = item_distribution(answers, ITEMS, levels=LEVELS)
    with pytest.raises(ParameterError, match="x='percent'"):
        likert_plot(dist, x="percent")
    with pytest.raises(ParameterError, match="DataFrame"):
        likert_plot(None)


def test_likert_plot_hides_small_levels_together():
    # 40 answers: level 1 has 3 (small), level 2 has 7; level 1 is hidden with the next
    # smallest level so that its share cannot be read off the bar.
    answers = pd.DataFrame({"q": [1] * 3 + [2] * 7 + [3] * 10 + [4] * 12 + [5] * 8})
    dist = item_distribution(answers, ["q"], levels=LEVELS)
    ax = likert_plot(dist)
    hidden = [p for p in ax.patches if p.get_facecolor()[:3] == pytest.approx((0.741, 0.741, 0.741), abs=0.01)]
    assert len(hidden) == 1
    assert hidden[0].get_width() == pytest.approx(10 / 40)       # levels 1 and 2 together
    widths = sorted(round(p.get_width(), 4) for p in ax.patches if p not in hidden)
    assert round(3 / 40, 4) not in widths and round(7 / 40, 4) not in widths
