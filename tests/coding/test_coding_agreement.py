"""Coded segments and inter-coder agreement (issue 7): published worked examples, independent
implementations (the ``krippendorff`` package, statsmodels' inter_rater), the shipped study's
known truth, and the messages for bad input."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.inter_rater import aggregate_raters, cohens_kappa, fleiss_kappa, to_table

from evaluation.cli import main
from evaluation.coding.agreement import agreement, disagreements, nominal_alpha
from evaluation.coding.segments import coder_key, read_segments
from evaluation.errors import InputFileError, ParameterError

ROOT = Path(__file__).resolve().parents[2]

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", nominal example:
# 4 coders x 12 units, "." = the coder did not code the unit. Published alpha = 0.743.
KRIPPENDORFF_2011 = {"A": "1 2 3 3 2 1 4 1 2 . . .", "B": "1 2 3 3 2 2 4 1 2 5 . 3",
                     "C": ". 3 3 3 2 3 4 2 2 5 1 .", "D": "1 2 3 3 2 4 4 1 2 5 1 ."}

# Fleiss (1971): 30 patients, 6 psychiatrists each, 5 diagnoses (the `diagnoses` data of R's irr
# and of statsmodels' tests). Published kappa = 0.430; irr::kappam.fleiss gives 0.4302445.
FLEISS_1971 = """444444 222555 233335 555555 222444 113333 333355 113334 114444 555555
                 144444 124444 222333 144444 224445 333335 111455 111112 224444 133555
                 555555 244444 224555 114444 144445 222224 111155 224444 133333 555555"""


def _long(matrix: dict) -> pd.DataFrame:
    return pd.DataFrame([(f"u{u:02d}", coder, v) for coder, values in matrix.items()
                         for u, v in enumerate(values) if v != "."],
                        columns=["unit_id", "coder", "code"])


def _value(result: pd.DataFrame, code: str, measure: str) -> pd.Series:
    return result[(result["code"] == code) & (result["measure"] == measure)].iloc[0]


def _one_paragraph(text: str) -> bool:
    return bool(text.strip()) and "\n" not in text.strip() and "Traceback" not in text


# -- published examples ---------------------------------------------------------------------------
def test_krippendorff_2011_nominal_example():
    seg = _long({c: s.split() for c, s in KRIPPENDORFF_2011.items()})
    row = _value(agreement(seg, codes=["*"], measures=["alpha"], n_boot=200), "*", "alpha")
    matrix = [[np.nan if v == "." else float(v) for v in s.split()]
              for s in KRIPPENDORFF_2011.values()]
    package = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert round(row["estimate"], 3) == 0.743
    assert row["estimate"] == pytest.approx(package, abs=1e-12)
    assert nominal_alpha(matrix) == pytest.approx(package, abs=1e-12)
    assert row["n_units"] == 11          # unit 12 has one value: nothing to agree with
    assert row["n_coders"] == 4
    assert row["ci_low"] <= row["estimate"] <= row["ci_high"]


def test_fleiss_1971_example():
    ratings = np.array([[int(ch) for ch in subject] for subject in FLEISS_1971.split()])
    assert ratings.shape == (30, 6)
    seg = pd.DataFrame([(f"p{i}", f"rater{j}", str(v)) for i, row in enumerate(ratings)
                        for j, v in enumerate(row)], columns=["unit_id", "coder", "code"])
    row = _value(agreement(seg, codes=["*"], measures=["fleiss"], n_boot=0), "*", "fleiss")
    reference = fleiss_kappa(aggregate_raters(ratings)[0], method="fleiss")
    assert round(row["estimate"], 3) == 0.430
    assert row["estimate"] == pytest.approx(0.4302445, abs=1e-7)
    assert row["estimate"] == pytest.approx(reference, abs=1e-12)
    assert row["n_units"] == 30 and np.isnan(row["ci_low"])


def _two_coders(both: int, only_a: int, only_b: int, neither: int) -> pd.DataFrame:
    """Two coders and one code 'x': the four cells of the 2 x 2 table, as segments."""
    rows, u = [], 0
    for a, b, n in ((1, 1, both), (1, 0, only_a), (0, 1, only_b), (0, 0, neither)):
        for _ in range(n):
            rows += [(f"u{u}", "Ada", "x" if a else ""), (f"u{u}", "Bo", "x" if b else "")]
            u += 1
    return pd.DataFrame(rows, columns=["unit_id", "coder", "code"])


def test_cohens_kappa_hand_worked():
    # 50 units: both yes 20, only A 5, only B 10, both no 15. p_o = 35/50 = 0.70;
    # p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.50; kappa = (0.70 - 0.50) / (1 - 0.50) = 0.40.
    seg = _two_coders(20, 5, 10, 15)
    res = agreement(seg, units="seen", n_boot=300)
    assert _value(res, "x", "cohen")["estimate"] == pytest.approx(0.40, abs=1e-12)
    assert _value(res, "x", "cohen")["estimate"] == pytest.approx(
        cohens_kappa(np.array([[20, 5], [10, 15]])).kappa, abs=1e-12)
    assert _value(res, "x", "percent")["estimate"] == pytest.approx(70.0)
    assert list(res["measure"].unique()) == ["percent", "cohen", "alpha"]
    # Default: the 15 units nobody coded are left out (QualCoder #667), and the output says so.
    coded = _value(agreement(seg, n_boot=0), "x", "cohen")
    assert coded["n_units"] == 35 and "15 such units nobody coded left out" in coded["note"]
    assert coded["estimate"] == pytest.approx(cohens_kappa(np.array([[20, 5], [10, 0]])).kappa)


def test_cohen_across_codes_matches_statsmodels():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 4, 200)
    b = np.where(rng.random(200) < 0.7, a, rng.integers(0, 4, 200))
    names = np.array(["", "goal", "chaos", "crisis"])
    seg = pd.DataFrame({"unit_id": np.repeat(np.arange(200), 2), "coder": ["A", "B"] * 200,
                        "code": names[np.column_stack([a, b]).ravel()]})
    row = _value(agreement(seg, codes=["*"], n_boot=0), "*", "cohen")
    table, _ = to_table(np.column_stack([a, b]))
    assert row["estimate"] == pytest.approx(cohens_kappa(table).kappa, abs=1e-12)


# -- the vectorised bootstrap against the packages ------------------------------------------------
@st.composite
def reliability_data(draw):
    coders = draw(st.integers(2, 5))
    units = draw(st.integers(2, 30))
    cells = st.sampled_from([0.0, 1.0, np.nan])
    data = np.array(draw(st.lists(cells, min_size=coders * units, max_size=coders * units)))
    weights = draw(st.lists(st.integers(0, 3), min_size=units, max_size=units))
    return data.reshape(coders, units), np.array(weights)


def _package_alpha(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
        except ValueError:             # a single value in the whole matrix: alpha undefined
            return np.nan


@settings(max_examples=150, deadline=None)
@given(reliability_data())
def test_vectorised_alpha_equals_krippendorff_package(case):
    data, weights = case
    expected = [_package_alpha(data), _package_alpha(np.repeat(data, weights, axis=1))]
    with np.errstate(all="ignore"):
        got = [nominal_alpha(data), nominal_alpha(data, np.vstack([np.ones_like(weights),
                                                                   weights]))[1]]
    for g, e in zip(got, expected):
        if np.isfinite(e):
            assert g == pytest.approx(e, abs=1e-9)
        else:
            assert not np.isfinite(g)


@settings(max_examples=60, deadline=None)
@given(st.integers(3, 6), st.integers(5, 60), st.integers(0, 2**31))
def test_fleiss_and_percent_equal_statsmodels_on_complete_data(raters, units, seed):
    rng = np.random.default_rng(seed)
    ratings = rng.integers(0, 3, size=(units, raters))
    seg = pd.DataFrame([(u, f"r{j}", ("", "a", "b")[v]) for u, row in enumerate(ratings)
                        for j, v in enumerate(row)], columns=["unit_id", "coder", "code"])
    res = agreement(seg, codes=["*"], measures=["fleiss", "percent"], n_boot=0)
    counts = aggregate_raters(ratings)[0]
    with np.errstate(all="ignore"):
        reference = fleiss_kappa(counts)
    got = _value(res, "*", "fleiss")["estimate"]
    assert (got == pytest.approx(reference, abs=1e-9)) if np.isfinite(reference) else np.isnan(got)
    pairs = ((counts * (counts - 1)).sum(axis=1) / (raters * (raters - 1))).mean()
    assert _value(res, "*", "percent")["estimate"] == pytest.approx(100 * pairs)


def test_bootstrap_is_seeded_and_shared():
    seg = _two_coders(20, 5, 10, 15)
    one = agreement(seg, n_boot=200, seed=4)
    assert one.equals(agreement(seg, n_boot=200, seed=4))
    assert not one.equals(agreement(seg, n_boot=200, seed=5))
    assert one.attrs["ci_method"] == "percentile bootstrap over units"


# -- the shipped synthetic study ------------------------------------------------------------------
@pytest.fixture(scope="module")
def study_segments():
    from evaluation.study import Study
    return read_segments(Study.load(ROOT / "data_synthetic" / "study.yaml").table("interviews"),
                         codebook=ROOT / "data_synthetic" / "codebook.csv")


def test_synthetic_study_alpha_contains_the_truth(study_segments):
    truth = json.loads((ROOT / "data_synthetic" / "ground_truth.json").read_text("utf-8"))
    expected = truth["interviews"]["expected_alpha_nominal"]
    res = agreement(study_segments, n_boot=1000, seed=0)
    star = _value(res, "*", "alpha")
    assert star["ci_low"] <= expected <= star["ci_high"], (star.to_dict(), expected)
    assert star["n_coders"] == len(truth["interviews"]["coders"])
    assert star["n_units"] == truth["interviews"]["units"]       # every unit, coded or not
    per_code = res[res["code"] != "*"]
    assert set(per_code["measure"]) == {"percent", "fleiss", "alpha"}
    assert (per_code["n_units"][per_code["measure"] == "alpha"] < star["n_units"]).all()
    assert list(per_code["code"].unique())[:2] == ["involvement", "chairs_own_meeting"]  # book order


def test_disagreements_list(study_segments):
    out = disagreements(study_segments, codes=["less_chaos"])
    assert list(out.columns) == ["unit_id", "interview", "code", "coders_with", "coders_without",
                                 "text"]
    assert len(out) and (out["code"] == "less_chaos").all()
    assert out["text"].str.len().max() <= 80
    first = out.iloc[0]
    rows = study_segments[study_segments["unit_id"] == first["unit_id"]]
    with_code = set(rows.loc[rows["code"] == "less_chaos", "coder"])
    assert set(first["coders_with"].split(", ")) == with_code
    assert set(first["coders_without"].split(", ")) == set(rows["coder"]) - with_code


# -- reading and checking -------------------------------------------------------------------------
def test_coder_key_folds_nordic_letters():
    assert coder_key("Øystein") == coder_key("oystein ") == coder_key("Oystein") == "oystein"
    assert coder_key("Ærlig  Åse") == "aerlig ase"


@pytest.fixture
def csv(tmp_path):
    def write(rows, name="segments.csv"):
        path = tmp_path / name
        pd.DataFrame(rows, columns=["unit_id", "interview", "coder", "code"]).to_csv(path, index=False)
        return path
    return write


GOOD = [("u1", "i1", "Ingrid", "goal"), ("u1", "i1", "Siri", "goal"), ("u2", "i1", "Ingrid", ""),
        ("u2", "i1", "Siri", "chaos"), ("u3", "i1", "Ingrid", "chaos"), ("u3", "i1", "Siri", "chaos")]


def test_coder_spelled_two_ways(csv):
    path = csv(GOOD + [("u4", "i1", "Øystein", "goal"), ("u4", "i1", "oystein ", "goal"),
                       ("u5", "i1", "Oystein", ""), ("u5", "i1", "Øystein", "")])
    with pytest.raises(InputFileError) as err:
        read_segments(path)
    msg = str(err.value)
    assert str(path) in msg and "'coder'" in msg and "spelled 3 ways" in msg
    # The CSV reader trims spaces, so 'oystein ' reads as 'oystein'.
    assert "'Øystein' (2 rows, first row 7)" in msg and "'oystein' (1 row, first row 8)" in msg
    assert "'Oystein' (1 row, first row 9)" in msg and _one_paragraph(msg)
    assert "coders={'oystein': 'Øystein'}" in msg
    seg = read_segments(path, coders={"oystein": "Øystein"})
    assert sorted(seg["coder"].unique()) == ["Ingrid", "Siri", "Øystein"]
    with pytest.raises(ParameterError, match="'nobody' match no coder"):
        read_segments(path, coders={"oystein": "Øystein", "Nobody": "X"})


def test_code_missing_from_codebook(csv, tmp_path):
    book = tmp_path / "codebook.csv"
    pd.DataFrame({"code": ["goal", "chaos_less"], "parent": ["", ""]}).to_csv(book, index=False)
    with pytest.raises(InputFileError) as err:
        read_segments(csv(GOOD), codebook=book)
    msg = str(err.value)
    assert "1 code(s) are not in the codebook" in msg
    assert "'chaos' (3 row(s), first row 4; did you mean 'chaos_less'?)" in msg
    assert str(book) in msg and _one_paragraph(msg)


def test_missing_coder_or_unit(csv):
    with pytest.raises(InputFileError, match=r"2 row\(s\) have no coder: 3, 5"):
        read_segments(csv([r if i not in (2, 4) else r[:2] + ("", r[3])
                           for i, r in enumerate(GOOD)]))
    with pytest.raises(InputFileError, match=r"no unit_id: 1\b"):
        read_segments(csv([("",) + GOOD[0][1:]] + GOOD[1:]))
    with pytest.raises(InputFileError, match="no column 'coder'"):
        read_segments(pd.DataFrame({"unit_id": ["u1"], "code": ["a"]}))


def test_duplicates_kept_once_and_reported():
    rows = GOOD + [GOOD[1], ("u2", "i1", "Siri", " chaos"), ("u3", "i1", "Siri", "")]
    seg = read_segments(pd.DataFrame(rows, columns=["unit_id", "interview", "coder", "code"]))
    from evaluation.coding.segments import segment_problems
    problems = segment_problems(seg)
    # attrs hold records, so two read tables can still be merged (pandas 3)
    assert len(seg.merge(seg, on=["unit_id", "coder", "code"])) >= len(seg)
    assert len(seg) == len(GOOD)
    assert list(problems.columns) == ["row", "column", "value", "problem"]
    text = " | ".join(problems["problem"])
    assert "duplicate of row 2: coder 'Siri' gave code 'goal' to unit 'u1' twice; kept once" in text
    assert "duplicate of row 4" in text                           # ' chaos' once stripped
    assert "spaces around the value removed" in text
    assert "empty code dropped: coder 'Siri' also gave code(s) to unit 'u3'" in text
    assert set(problems["row"]) == {7, 8, 9}


def test_unit_id_shared_by_two_interviews(csv):
    with pytest.raises(InputFileError, match=r"unit 'u1' belongs to 2 interviews \(i1, i2"):
        read_segments(csv(GOOD + [("u1", "i2", "Ingrid", "goal")]))


def test_xlsx_keeps_identifiers_as_text(tmp_path):
    path = tmp_path / "codings.xlsx"
    pd.DataFrame({"unit_id": ["007", "007", "010", "010"], "coder": ["A", "B"] * 2,
                  "code": ["goal", "goal", "", "goal"]}).to_excel(path, index=False)
    seg = read_segments(path)
    assert list(seg["unit_id"].unique()) == ["007", "010"] and list(seg.index) == [1, 2, 3, 4]


def test_qdpx_is_read_by_the_qdpx_module(tmp_path, monkeypatch):
    fake = lambda path: pd.DataFrame(GOOD, columns=["unit_id", "interview", "coder", "code"])  # noqa: E731
    monkeypatch.setattr("evaluation.coding.segments.read_qdpx", fake)
    seg = read_segments(tmp_path / "project.qdpx")
    assert len(seg) == len(GOOD) and seg.attrs["source"].endswith("project.qdpx")


def test_parameters_are_checked():
    seg = _long({c: s.split() for c, s in KRIPPENDORFF_2011.items()})
    with pytest.raises(ParameterError, match="exactly two coders; the segments have 4"):
        agreement(seg, measures=["cohen"])
    with pytest.raises(ParameterError, match="unknown measure"):
        agreement(seg, measures=["scott"])
    with pytest.raises(ParameterError, match="'9' are neither given"):
        agreement(seg, codes=["9"])
    multi = pd.DataFrame({"unit_id": ["u1"] * 3, "coder": ["A", "A", "B"], "code": ["x", "y", "x"]})
    assert "*" not in set(agreement(multi, n_boot=0)["code"])
    with pytest.raises(ParameterError, match="at most one code"):
        agreement(multi, codes=["*"])


# -- the command ----------------------------------------------------------------------------------
def test_cli_prints_json_records(csv, capsys):
    assert main(["agreement", str(csv(GOOD)), "--json", "--boot", "50"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert {"code", "measure", "estimate", "ci_low", "ci_high", "n_units", "n_coders"} <= set(records[0])
    assert {r["code"] for r in records} == {"chaos", "goal", "*"}


def test_cli_on_the_study(capsys):
    assert main(["agreement", str(ROOT / "data_synthetic"), "--boot", "100",
                 "--codebook", str(ROOT / "data_synthetic" / "codebook.csv")]) == 0
    out = capsys.readouterr().out
    assert "less_chaos" in out and "Fleiss' kappa needs the same coders" in out


@pytest.mark.parametrize("rows, extra, expected", [
    (GOOD + [("u4", "i1", "siri ", "goal")], [], "spelled 2 ways"),
    (GOOD, ["--codebook", "BOOK"], "not in the codebook"),
    (GOOD[:2] + [("u2", "i1", "", "goal")], [], "have no coder"),
    (GOOD, ["--coder-alias", "siri"], "RAW=NAME"),
])
def test_cli_bad_input_exits_2(csv, tmp_path, capsys, rows, extra, expected):
    book = tmp_path / "book.csv"
    book.write_text("code\ngoal\n", encoding="utf-8")
    path = csv(rows)
    assert main(["agreement", str(path), *[str(book) if e == "BOOK" else e for e in extra]]) == 2
    err = capsys.readouterr().err
    assert expected in err and _one_paragraph(err)
    assert "RAW=NAME" in expected or str(path) in err


def test_cli_alias_resolves_and_tidied_rows_exit_1(csv, capsys):
    path = csv(GOOD + [("u4", "i1", "siri ", "goal"), ("u4", "i1", "Ingrid", "goal"),
                       ("u4", "i1", "Ingrid", "goal")])
    assert main(["agreement", str(path), "--coder-alias", "siri=Siri", "--json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)[0]["n_coders"] == 2
    assert "duplicate of row 8" in captured.err
