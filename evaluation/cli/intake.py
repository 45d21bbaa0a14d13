"""The intake verbs: ``ipeval synth``, ``ipeval validate`` and ``ipeval score``, printed for a
person at a terminal."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from evaluation.disclosure import DisclosureRules
from evaluation.errors import ParameterError
from evaluation.instruments import load_instrument
from evaluation.intake.output_paths import writable_dir
from evaluation.study import Study
from evaluation.synthetic import SyntheticConfig, write_study


def synth_study(args) -> int:
    """``ipeval synth``: write a complete synthetic study and say what was written."""
    cfg = SyntheticConfig(persons=args.persons, institutions=args.institutions, seed=args.seed,
                          effect_goal=args.effect_goal, effect_chaos=args.effect_chaos)
    truth = write_study(args.out, cfg)
    rows = sum(f["rows"] for f in truth["files"].values())
    print(f"Wrote synthetic study to {args.out}: {len(truth['files'])} files, {rows} rows, "
          f"{len(truth['planted_problems'])} planted problems. Manifest: {args.out / 'study.yaml'}; "
          f"truth: {args.out / 'ground_truth.json'}.")
    return 0


def validate_study(study_path, out_dir) -> int:
    """Load every source, print read / valid / quarantined per source, write the quarantine.

    Returns the exit code: 0 when every row is valid, 1 when any row was quarantined. A
    ``disclosure:`` block whose rules are out of range is unusable input (ManifestError, exit 2).
    """
    study = Study.load(study_path)
    DisclosureRules.from_manifest(study.manifest.disclosure)
    out = writable_dir(out_dir, purpose="the validation report")
    report = study.load_report()
    quarantine = study.quarantine()
    report.to_csv(out / "validation.csv", index=False)
    quarantine.to_csv(out / "quarantine.csv", index=False)
    shown = report[["source", "file", "rows_read", "rows_used", "rows_quarantined", "top_reasons"]]
    shown = shown.rename(columns={"rows_used": "valid", "rows_quarantined": "quarantined",
                                  "rows_read": "read"})
    with pd.option_context("display.max_colwidth", 90, "display.width", 200):
        print(f"Study {study.name}: {len(report)} sources\n")
        print(shown.to_string(index=False))
    total_q = int(report["rows_quarantined"].sum())
    total = int(report["rows_read"].sum())
    assert total == int(report["rows_used"].sum()) + total_q   # the accounting, always
    print(f"\n{total} rows read, {total - total_q} valid, {total_q} quarantined "
          f"({len(quarantine)} problems). Quarantine: {out / 'quarantine.csv'}; "
          f"summary: {out / 'validation.csv'}.")
    return 1 if total_q else 0


def score_study(study_path, instrument: str, out_file=None) -> int:
    """Print (or write) the scores of one instrument from every source that carries it.

    Returns 1 when rows of those sources were quarantined (they are not scored), else 0.
    """
    study = Study.load(study_path)
    sources = [n for n in study.manifest.sources
               if any(i.carries(instrument) for i in study.instruments(n))]
    if not sources:
        carried = sorted({i for s in study.manifest.sources.values() for i in s.instruments})
        raise ParameterError(f"No source of study {study.name!r} carries instrument "
                             f"{instrument!r}. Instruments in the study: {', '.join(carried)}.")
    definition = load_instrument(instrument, extra=[study.root / "instruments"])
    score_cols = [c for s in definition.scores.values()
                  for c in (s.column, f"{s.column}_n_items", f"{s.column}_prorated")]
    score_cols += [c.flag for c in definition.cutoffs.values() if c.apply]
    frames = []
    for name in sources:
        df = study.table(name)
        keys = [c for c in (study.id_column, study.institution_column, "episode", "session",
                            "year", "staff_id") if c in df.columns]
        table = df[keys + [c for c in score_cols if c in df.columns]].copy()
        table.insert(0, "source", name)
        frames.append(table.reset_index())
    scored = pd.concat(frames, ignore_index=True)
    report = study.load_report().set_index("source").loc[sources]
    quarantined = int(report["rows_quarantined"].sum())
    note = ""
    if quarantined:
        note = (f"\n{quarantined} row(s) of {', '.join(sources)} were quarantined and are not "
                f"scored ({'; '.join(r for r in report['top_reasons'] if r)}); see "
                f"`ipeval validate`.")
    if out_file:
        out_file = Path(out_file)
        writable_dir(out_file.parent if str(out_file.parent) else ".", purpose="the scores")
        scored.to_csv(out_file, index=False)
        print(f"Wrote {len(scored)} scored rows of {instrument} from {', '.join(sources)} to "
              f"{out_file}.{note}")
    else:
        main = definition.scores[next(iter(definition.scores))].column
        print(f"{instrument}: {len(scored)} rows from {', '.join(sources)}; "
              f"{scored[main].notna().sum()} with a {main} score.\n")
        print(scored.head(20).to_string(index=False))
        if len(scored) > 20:
            print(f"… {len(scored) - 20} more rows; use --out FILE for all of them.")
        if note:
            print(note)
    return 1 if quarantined else 0
