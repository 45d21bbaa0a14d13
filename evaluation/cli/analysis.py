"""The analysis verbs: ``ipeval estimate`` and ``ipeval agreement``.

Imports of the analysis libraries are at the top here: this module is imported only when one of
these verbs runs, so ``ipeval --help`` stays fast.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.association.analysis import METHODS, evaluate
from evaluation.coding.agreement import agreement
from evaluation.coding.segments import read_segments, segment_problems
from evaluation.disclosure import Disclosure
from evaluation.errors import ParameterError
from evaluation.cli.json_output import json_records
from evaluation.estimates import as_estimate_table
from evaluation.study import Study

def estimate_study(args) -> int:
    """``ipeval estimate``: the headline estimates, shown through the disclosure layer; with
    ``--json`` as records of the result contract (its columns first, in order)."""
    study = Study.load(args.study, institution=args.institution)
    estimates, rows = evaluate(study, args.outcome, methods=tuple(args.method or METHODS),
                               estimand=args.estimand)
    safe = Disclosure.for_study(study).show(estimates, counts=["n_exposed"],
                                            complements={"n_exposed": "n"}, name="estimates")
    if args.json:
        print(json_records(as_estimate_table(safe.values)))
        return 0
    shown = safe.shown[["outcome", "method", "estimand", "scale", "estimate", "ci_low", "ci_high",
                        "p_value", "p_adjusted", "n", "n_exposed", "e_value"]]
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("\nRows per outcome:\n" + rows.to_string(index=False))
    print("\n" + safe.footnote())
    return 0


def coder_aliases(items) -> dict:
    """``--coder-alias RAW=NAME`` options as a mapping RAW → NAME."""
    aliases = {}
    for item in items:
        raw, sep, name = item.partition("=")
        if not sep or not raw.strip() or not name.strip():
            raise ParameterError(f"--coder-alias takes RAW=NAME (e.g. oystein=Øystein); "
                                 f"got {item!r}.")
        aliases[raw] = name.strip()
    return aliases


def agreement_of_segments(args) -> int:
    """``ipeval agreement``: inter-coder agreement per code and across codes; exit 1 when rows
    of the segments were tidied before counting (listed on stderr)."""
    aliases = coder_aliases(args.coder_alias)
    source = args.segments
    if source.is_dir() or source.suffix.lower() in {".yaml", ".yml"}:
        source = study_segments(source, args.source)
    segments = read_segments(source, codebook=args.codebook, coders=aliases)
    result = agreement(segments, n_boot=args.boot, seed=args.seed, units=args.units)
    if args.json:
        print(json_records(result, whole=()))
    else:
        print_agreement(result)
    problems = segment_problems(segments)
    if len(problems):
        print(f"ipeval agreement: {len(problems)} row(s) of {segments.attrs['source']} were tidied "
              f"before counting:", file=sys.stderr)
        print(problems.head(20).to_string(index=False), file=sys.stderr)
        return 1
    return 0


def print_agreement(result: pd.DataFrame) -> None:
    """The agreement table for a terminal, with the notes of each measure under it."""
    shown = result.drop(columns=["note", "units"])
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    attrs = result.attrs
    print(f"\nCoders: {', '.join(attrs['coders'])}. CIs: {attrs['confidence']:.0%} "
          f"{attrs['ci_method']}, {attrs['n_boot']} resamples, seed "
          f"{attrs['seed']}. Percent agreement is 0-100; kappa and alpha -1 to 1.")
    per_code = set(result.loc[result["code"] != "*", "code"])
    for note, rows in result.groupby("note", sort=False):
        codes = set(rows["code"])
        which = "each code" if codes == per_code else ", ".join(sorted(codes))
        print(f"  {', '.join(rows['measure'].unique())} ({which}): {note}.")


def study_segments(path: Path, name: str | None):
    """The coded segments of a study, without their text (agreement does not need it)."""
    study = Study.load(path)
    kinds = [s for s, spec in study.manifest.sources.items() if spec.kind == "coded_segments"]
    if name is None and len(kinds) != 1:
        raise ParameterError(f"study {study.name!r} has {len(kinds)} coded_segments sources"
                             f"{' (' + ', '.join(kinds) + ')' if kinds else ''}; name one with "
                             f"--source.")
    table = study.table(name or kinds[0])
    table.attrs = {"source": f"{study.manifest.sources[name or kinds[0]].file}"}
    return table.drop(columns=["text"], errors="ignore")
