"""The interview figures draw only what their tables show."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from evaluation.coding import agreement_plot, cooccurrence_plot, mentions_plot  # noqa: E402
from evaluation.disclosure import Disclosure  # noqa: E402
from evaluation.disclosure.figure_provenance import figure_record  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_cooccurrence_pairs_hidden_in_the_table_are_blank():
    codes = ["a", "b", "c"]
    counts = pd.DataFrame([[20, 3, 10], [3, 12, 8], [10, 8, 15]], index=codes, columns=codes)
    either = np.diag(counts)[:, None] + np.diag(counts)[None, :] - counts.to_numpy()
    jaccard = pd.DataFrame(counts.to_numpy() / either, index=codes, columns=codes)
    sdc = Disclosure()
    table = sdc.show(counts.rename_axis("code").reset_index(), n=None, counts=codes,
                     name="co-occurrence")
    ax = cooccurrence_plot(table, jaccard, sdc=sdc)
    drawn = np.ma.filled(ax.collections[0].get_array(), np.nan).reshape(3, 3)
    hidden = table.suppressed[codes].to_numpy()
    assert hidden[0, 1] and np.isnan(drawn[0, 1])           # 3 units share a and b
    assert np.isnan(drawn[hidden]).all()
    texts = [t.get_text() for t in ax.texts]
    assert "<5" in texts
    assert f"{jaccard.loc['a', 'b']:.2f}" not in texts
    assert figure_record(ax)["source"] == "co-occurrence"


def test_mentions_and_agreement_leave_out_hidden_rows():
    by_ip = pd.DataFrame({"code": ["x", "x", "y", "y"], "IP": ["IP", "no IP"] * 2,
                          "estimate": [0.5, 0.95, 0.4, 0.3], "ci_low": [0.3, 0.8, 0.2, 0.1],
                          "ci_high": [0.7, 1.0, 0.6, 0.5], "n": [20, 20, 20, 20],
                          "count": [10, 19, 8, 6]})
    sdc = Disclosure()
    table = sdc.show(by_ip, name="mentions by IP status")
    ax = mentions_plot(table, sdc=sdc)
    drawn = [line.get_xydata() for line in ax.lines if line.get_marker() == "o"]
    ys = np.concatenate(drawn)[:, 1] if drawn else np.array([])
    assert 0.95 not in np.round(ys, 2)                       # 19 of 20: one did not
    assert any("hidden" in t.get_text() for t in ax.get_xticklabels())
    alpha = pd.DataFrame({"code": ["x", "y", "z"], "measure": "alpha", "estimate": [0.8, 0.6, 0.9],
                          "ci_low": [0.7, 0.5, 0.8], "ci_high": [0.9, 0.7, 1.0], "n": [40, 3, 30]})
    ax = agreement_plot(sdc.show(alpha, name="agreement"), sdc=sdc)
    ys = np.concatenate([ln.get_xydata() for ln in ax.lines if ln.get_marker() == "o"])[:, 1]
    assert 0.6 not in np.round(ys, 2)
    assert [f["source"] for f in sdc.figures] == ["mentions by IP status", "agreement"]
