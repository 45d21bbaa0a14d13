"""The overview figures: counts written in titles obey the threshold; tables drawn as shown."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from evaluation import describe  # noqa: E402
from evaluation.disclosure import Disclosure, DisclosureRules  # noqa: E402
from evaluation.describe.overview_figures import count_text  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_count_text_hides_small_counts():
    rules = DisclosureRules()
    assert count_text(3, rules) == "<5" and count_text(0, rules) == "0" and count_text(12, rules) == "12"


def test_missing_answers_plot_of_the_shown_table():
    miss = pd.DataFrame({"source": "s", "variable": ["a", "b", "c"], "n": 100,
                         "n_missing": [40, 2, 30]})
    miss["share_missing"] = miss["n_missing"] / 100
    sdc = Disclosure()
    table = sdc.show(miss, n=None, name="missingness")
    ax = describe.missing_answers_plot(table, sdc=sdc)
    assert 0.02 not in [round(p.get_width(), 4) for p in ax.patches]
    assert sdc.figures == [{"name": "share missing per variable", "source": "missingness",
                            "person_level": False}]


def test_key_measures_panels_rest_on_protected_tables():
    rng = np.random.default_rng(3)
    people = pd.DataFrame({"severity": np.r_[rng.uniform(0, 3.9, 25), rng.uniform(4, 6.9, 60),
                                             rng.uniform(7, 10, 17)],
                           "has_ip": np.r_[[1] * 21 + [0] * 4, [1, 0] * 30, [1] * 4 + [0] * 13],
                           "institution": "A"})
    axes = describe.key_measures_plot(people, exposure="has_ip")
    drawn = [ln.get_xydata() for ln in axes[0].lines if ln.get_marker() == "o"]
    ys = np.concatenate(drawn)[:, 1] if drawn else np.array([])
    assert not np.isclose(ys, 21 / 25).any() and not np.isclose(ys, 4 / 17).any()
