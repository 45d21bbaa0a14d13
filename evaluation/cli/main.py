"""The ``ipeval`` command: a thin layer over the functions notebooks call.

Exit codes (docs/cli.md): 0 success; 1 finished but found problems; 2 bad usage or
unusable input, with a one-paragraph message and no traceback.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evaluation.version import __version__
from evaluation.errors import IpevalError

EXAMPLES = {
    "synth": "example:\n  ipeval synth data_synthetic --persons 800 --institutions 6 --seed 2026\n"
             "  ipeval synth /tmp/big --persons 100000 --effect-goal 0.1 --effect-chaos -0.3",
    "validate": "example:\n  ipeval validate data_synthetic/study.yaml --out reports/validation\n"
                "exit 0: every row valid; 1: rows quarantined (see quarantine.csv); 2: unusable input",
    "score": "example:\n  ipeval score data_synthetic/study.yaml --instrument ors --out ors_scores.csv\n"
             "  ipeval score data_synthetic --instrument life_chaos",
    "estimate": "example:\n  ipeval estimate data_synthetic --outcome goal_retention --json\n"
                "  ipeval estimate data_synthetic --method aipw --method ipw --estimand ATT",
    "agreement": "example:\n  ipeval agreement data_synthetic/study.yaml --codebook "
                 "data_synthetic/codebook.csv\n  ipeval agreement codings.xlsx --coder-alias "
                 "oystein=Øystein --boot 2000 --json\n  ipeval agreement project.qdpx\n"
                 "exit 0: agreement reported; 1: reported, but rows were tidied (duplicates, "
                 "listed on stderr); 2: unusable input",
    "check": "example:\n  ipeval check reports/ --study data_synthetic/study.yaml\n"
             "exit 0: nothing found; 1: findings (report printed and written as JSON)",
    "run": "example:\n  ipeval run notebooks/study_overview.ipynb -p study data_synthetic/study.yaml "
           "--out reports/overview\n  ipeval run notebooks/study_overview.ipynb -p institution "
           "Karlsborg --show-code",
    "batch": "example:\n  ipeval batch notebooks/default_batch.yaml --workers 2\n"
             "  ipeval batch notebooks/default_batch.yaml --resume\n"
             "  ipeval batch notebooks/default_batch.yaml --scheduler tcp://10.0.0.5:8786\n"
             "exit 0: every run ok; 1: some runs failed (listed; their notebooks kept); 2: bad "
             "batch file or parameters",
    "release": "example:\n  ipeval release reports/batch\n  ipeval release reports/batch --bundle "
               "release.zip\nexit 0: protected, every output passed; 1: cells could not be "
               "protected, or outputs failed the check (see release.json)",
    "review": "example:\n  ipeval review reports/batch --checker kari\n  ipeval review "
              "reports/batch --researcher ola --port 8765",
    "verify": "example:\n  ipeval verify release.zip\n  ipeval verify release.zip --against "
              "reports/batch\n  ipeval verify reports/overview/study_overview.html --study "
              "data_synthetic/study.yaml\nexit 0: verified; 1: a file changed, added, missing "
              "or not approved; 2: no stamp, unreadable file or no such study",
    "results": "example:\n  ipeval results reports/batch\n  ipeval results reports/batch/results.duckdb "
               "--json",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ipeval", description="Evaluate individual care plans (IP) with parameterized "
        "notebooks. Each verb has --help with an example.")
    parser.add_argument("--version", action="version", version=f"ipeval {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    def verb(name, help_text):
        return verbs.add_parser(name, help=help_text, description=help_text,
                                epilog=EXAMPLES.get(name),
                                formatter_class=argparse.RawDescriptionHelpFormatter)

    p = verb("synth", "write a complete synthetic study (all sources, study.yaml, ground_truth.json)")
    p.add_argument("out", type=Path, help="folder to write the study into")
    p.add_argument("--persons", type=int, default=800, help="number of persons (default 800)")
    p.add_argument("--institutions", type=int, default=6, help="number of institutions (default 6)")
    p.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    p.add_argument("--effect-goal", type=float, default=0.12,
                   help="true effect of IP on goal retention, risk difference (default 0.12)")
    p.add_argument("--effect-chaos", type=float, default=-0.35,
                   help="true effect of IP on daily chaos, 1-5 item scale (default -0.35)")
    p.set_defaults(func=_synth)

    p = verb("validate", "load and validate every source; counts read / valid / quarantined")
    p.add_argument("study", type=Path, help="study.yaml or the study folder")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for quarantine.csv and validation.csv (default reports/validation)")
    p.set_defaults(func=_validate)

    p = verb("score", "scored table for one instrument (every source that carries it)")
    p.add_argument("study", type=Path, help="study.yaml or the study folder")
    p.add_argument("--instrument", required=True, help="instrument name, e.g. ors, life_chaos")
    p.add_argument("--out", type=Path, default=None, help="write the scored table here (CSV)")
    p.set_defaults(func=_score)

    p = verb("estimate", "IP ↔ outcome estimates: crude, adjusted, ipw, aipw, mixed")
    p.add_argument("study", type=Path, help="study.yaml or the study folder")
    p.add_argument("--outcome", action="append", default=None,
                   help="outcome name under `outcomes:` (repeatable; default all)")
    p.add_argument("--method", action="append", default=None,
                   choices=["crude", "adjusted", "ipw", "aipw", "mixed"],
                   help="method (repeatable; default all)")
    p.add_argument("--estimand", default="ATE", choices=["ATE", "ATT", "ATO"],
                   help="ATE (everyone), ATT (those with an IP) or ATO (overlap weights, IPW only)")
    p.add_argument("--institution", default=None, help="one institution (default all)")
    p.add_argument("--json", action="store_true", help="print a JSON list of records")
    p.set_defaults(func=_estimate)

    p = verb("agreement", "inter-coder agreement of coded segments: per code and across codes, "
             "with bootstrap CIs")
    p.add_argument("segments", type=Path,
                   help="coded segments: a CSV, XLSX or .qdpx file, or a study.yaml / study folder "
                        "(its coded_segments source)")
    p.add_argument("--json", action="store_true", help="print a JSON list of records")
    p.add_argument("--codebook", type=Path, default=None,
                   help="codebook (CSV/XLSX with a 'code' column): every code must be in it")
    p.add_argument("--coder-alias", action="append", default=[], metavar="RAW=NAME",
                   help="one coder spelled several ways: every spelling that reads RAW (case, "
                        "spaces and accents ignored) is coder NAME (repeatable)")
    p.add_argument("--boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")
    p.add_argument("--units", choices=["coded", "seen"], default="coded",
                   help="per-code measures on units someone coded (default) or on every unit")
    p.add_argument("--source", default=None,
                   help="for a study: the coded_segments source (default: the only one)")
    p.set_defaults(func=_agreement)

    p = verb("run", "execute one notebook with papermill, then write its HTML report")
    p.add_argument("notebook", type=Path)
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                   metavar=("NAME", "VALUE"), help="notebook parameter (repeatable)")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default reports/<notebook name>)")
    p.add_argument("--show-code", action="store_true", help="keep code cells in the HTML")
    p.add_argument("--timeout", type=float, default=None, help="seconds allowed per cell")
    p.add_argument("--slides", action="store_true",
                   help="also reveal.js slides of the run (checked like the report)")
    p.add_argument("--accept-risk", metavar="REASON", default=None,
                   help="write the HTML even if the output check finds problems; the reason "
                        "is kept in the run's log")
    p.set_defaults(func=_run)

    p = verb("batch", "run a notebook over a grid of parameters; collect results.duckdb and index.html")
    p.add_argument("batch", type=Path, help="the batch file (YAML)")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: the number of cores)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on an existing Dask cluster, e.g. tcp://HOST:8786")
    p.add_argument("--resume", action="store_true",
                   help="skip runs already finished ok with the same notebook, parameters and data")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_batch)

    p = verb("release", "protect a finished batch as one release; write release.json and "
             "ACRO's results.json; or pack the approved outputs")
    p.add_argument("out", type=Path, help="the batch's output folder")
    p.add_argument("--bundle", type=Path, default=None, metavar="ZIP",
                   help="pack the outputs the checkers approved into ZIP (with their hashes)")
    p.add_argument("--approvals", type=int, default=2,
                   help="checkers who must approve each output (default 2: four eyes)")
    p.set_defaults(func=_release)

    p = verb("review", "the output checkers' page of a release, served on 127.0.0.1")
    p.add_argument("out", type=Path, help="the batch's output folder (after `ipeval release`)")
    p.add_argument("--checker", default=None, metavar="NAME", help="decide as checker NAME")
    p.add_argument("--researcher", default=None, metavar="NAME",
                   help="ask for exceptions as researcher NAME")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.set_defaults(func=_review)

    p = verb("verify", "check a release bundle (every hash, nothing unapproved inside), or "
             "whether a report still matches the inputs its stamp records")
    p.add_argument("path", type=Path, metavar="ZIP|REPORT",
                   help="a bundle (ZIP) `ipeval release --bundle` wrote, or a report (.html, "
                        ".slides.html) or executed notebook (.ipynb) of `ipeval run`")
    p.add_argument("--against", type=Path, default=None, metavar="OUT",
                   help="bundle: also compare with the batch folder's decisions and release record")
    p.add_argument("--study", type=Path, default=None,
                   help="report: the study it was made from (default: the one its stamp names)")
    p.set_defaults(func=_verify)

    p = verb("results", "the collected results of a batch as a table")
    p.add_argument("path", type=Path, help="a batch output folder or its results.duckdb")
    p.add_argument("--json", action="store_true", help="print a JSON list of records")
    p.add_argument("--runs", action="store_true", help="list the runs instead of the results")
    p.set_defaults(func=_results)

    p = verb("check", "check outputs (notebooks, HTML, CSV/XLSX, folders) before they are shared")
    p.add_argument("path", type=Path, help="a file or a folder (searched recursively)")
    p.add_argument("--study", type=Path, default=None,
                   help="the study the outputs come from: its identifiers, quotes and rules")
    p.add_argument("--report", type=Path, default=None,
                   help="JSON report (default: disclosure_check.json in the folder, or FILE.check.json)")
    p.set_defaults(func=_check)
    return parser


def _synth(args) -> int:
    from evaluation.cli.intake import synth_study
    return synth_study(args)


def _validate(args) -> int:
    from evaluation.cli.intake import validate_study
    return validate_study(args.study, args.out or Path("reports") / "validation")


def _score(args) -> int:
    from evaluation.cli.intake import score_study
    return score_study(args.study, args.instrument, args.out)


def _estimate(args) -> int:
    from evaluation.cli.analysis import estimate_study
    return estimate_study(args)


def _agreement(args) -> int:
    from evaluation.cli.analysis import agreement_of_segments
    return agreement_of_segments(args)


def _check(args) -> int:
    from evaluation.disclosure.output_check import run_check
    return run_check(args.path, study=args.study, report_path=args.report)


def _batch(args) -> int:
    from evaluation.cli.runs import batch_of_runs
    return batch_of_runs(args)


def _results(args) -> int:
    from evaluation.cli.runs import batch_results
    return batch_results(args)


def _release(args) -> int:
    from evaluation.cli.release import release_of_batch
    return release_of_batch(args)


def _review(args) -> int:
    from evaluation.cli.release import review_of_release
    return review_of_release(args)


def _verify(args) -> int:
    from evaluation.cli.release import verify_of_path
    return verify_of_path(args)


def _run(args) -> int:
    from evaluation.cli.runs import run_one
    return run_one(args)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except IpevalError as exc:
        print(f"ipeval {args.verb}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("ipeval: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
