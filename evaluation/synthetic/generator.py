"""Draw a whole synthetic study from one latent population and write it as a study folder."""
from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit

from evaluation.intake.output_paths import writable_dir
from evaluation.synthetic import (brukerplan, feedback, interviews, mess, outcomes, population, programme,
               questionnaires)
from evaluation.synthetic.config import SyntheticConfig
from evaluation.synthetic.readme import readme_text

GENERATOR_VERSION = 1

# Each source: file name, how it is written, and its manifest entry. Formats differ on purpose:
# real studies mix Nettskjema CSV, Excel, and semicolon/decimal-comma/Windows-1252 exports.
SOURCES = {
    "persons": ("persons.csv", {"sep": ";", "decimal": ",", "encoding": "utf-8-sig"},
                {"unique": ["person_id"], "description": "Registry extract: covariates per person"}),
    "residents": ("questionnaire_residents.csv", {"sep": ",", "encoding": "utf-8"},
                  {"instrument": "ip_questionnaire_resident",
                   "columns": {"resp_id": "person_id", "$created": "submitted"},
                   "unique": ["person_id"], "dates": ["submitted"],
                   "description": "Residents' IP questionnaire (Nettskjema export)"}),
    "staff": ("questionnaire_staff.xlsx", {}, {"instrument": "ip_questionnaire_staff",
                                              "unique": ["staff_id"], "dates": ["submitted"],
                                              "description": "Staff IP questionnaire"}),
    "fit": ("fit_sessions.csv", {"sep": ",", "encoding": "utf-8"},
            {"instrument": ["ors", "srs"], "unique": ["person_id", "episode", "session"],
             "dates": ["date"],
             "description": "FIT: ORS at the start and SRS at the end of every session"}),
    "fit_episodes": ("fit_episodes.csv", {"sep": ",", "encoding": "utf-8"},
                     {"unique": ["person_id", "episode"], "dates": ["start_date", "end_date"],
                      "description": "FIT episodes"}),
    "inspire": ("inspire.csv", {"sep": ",", "encoding": "utf-8"},
                {"instrument": "inspire", "unique": ["person_id", "year"]}),
    "inspire_brief": ("inspire_brief.csv", {"sep": ",", "encoding": "utf-8"},
                      {"instrument": "inspire_brief", "unique": ["person_id", "year"]}),
    "brukerplan": ("brukerplan.csv", {"sep": ";", "encoding": "cp1252"},
                   {"instrument": "brukerplan", "unique": ["person_id", "year"],
                    "description": "BrukerPlan yearly mapping (municipal export, Windows-1252)"}),
    "interviews": ("interview_segments.csv", {"sep": ",", "encoding": "utf-8"},
                   {"kind": "coded_segments", "description": "Coded interview segments"}),
    "codebook": ("codebook.csv", {"sep": ",", "encoding": "utf-8"},
                 {"description": "Interview codebook with hierarchy"}),
    # No unique key: an institution-wide start has an empty department, and a key cell left
    # empty would send the row to quarantine.
    "programme_starts": ("programme_starts.csv", {"sep": ",", "encoding": "utf-8"},
                         {"dates": ["start_date"],
                          "description": "Programme starts per institution (department empty) "
                                         "or department"}),
    "routine_waves": ("routine_waves.csv", {"sep": ",", "encoding": "utf-8"},
                      {"unique": ["response_id"], "dates": ["period"],
                       "description": "Routine survey, repeated cross-sections every half-year"}),
}


def generate(cfg: SyntheticConfig) -> tuple[dict, dict]:
    """Returns ``(tables, truth)``: the sources as they would be exported, and the truth."""
    streams = dict(zip(["pop", "ip", "goal", "chaos", "gas", "resp", "staff", "fit", "inspire",
                        "bp", "int", "mess"],
                       (np.random.default_rng(s) for s in np.random.SeedSequence(cfg.seed).spawn(12))))
    inst = population.make_institutions(cfg, streams["pop"])
    persons = population.make_persons(cfg, inst, streams["pop"])
    persons = population.assign_ip(persons, inst, streams["ip"])
    persons["_culture"] = inst["culture"].to_numpy()[persons["_k"]]
    ip = persons["_ip"].to_numpy()

    goal, goal_eff, goal_truth = outcomes.goal_retention(cfg, persons, inst, streams["goal"])
    chaos_items, chaos_score, chaos_eff, chaos_truth = outcomes.daily_chaos(cfg, persons, inst, streams["chaos"])
    gas_items, gas_t, gas_eff, gas_truth = outcomes.goal_attainment(cfg, persons, inst, streams["gas"])
    persons["_goal"], persons["_chaos"] = goal, chaos_score

    residents, resp_truth = questionnaires.residents(cfg, persons, goal, chaos_items, gas_items, streams["resp"])
    responders = persons["person_id"].isin(residents["resp_id"])
    for truth, eff in ((goal_truth, goal_eff), (chaos_truth, chaos_eff), (gas_truth, gas_eff)):
        r = responders.to_numpy()
        truth["ate_respondents"] = float(np.mean(eff[r]))
        truth["att_respondents"] = float(np.mean(eff[r & (ip == 1)]))
    staff, staff_truth = questionnaires.staff(cfg, inst, streams["staff"])
    sessions, episodes, fit_truth = feedback.fit_sessions(cfg, persons, streams["fit"])
    inspire_full, inspire_brief, inspire_truth = feedback.inspire(cfg, persons, streams["inspire"])
    bp, bp_truth = brukerplan.mapping(cfg, persons, streams["bp"])
    segments, codebook, int_truth = interviews.segments(cfg, persons, responders, staff, inst, streams["int"])

    tables = {"persons": questionnaires.person_register(persons), "residents": residents,
              "staff": staff, "fit": sessions, "fit_episodes": episodes, "inspire": inspire_full,
              "inspire_brief": inspire_brief, "brukerplan": bp, "interviews": segments,
              "codebook": codebook}
    planted, missing = _plant_mess(cfg, tables, persons, streams["mess"])
    # Last, from a stream of their own, so that every source above stays as it was.
    sizes = persons["_k"].value_counts().reindex(range(len(inst)), fill_value=0).to_numpy()
    programme_tables, programme_truth = programme.programme_sources(cfg, inst.assign(persons=sizes))
    tables.update(programme_tables)

    institutions = []
    for k, row in inst.iterrows():
        mine = persons["_k"] == k
        institutions.append({
            "institution": row["institution"], "code": row["institution_code"], "kind": row["kind"],
            "programme": bool(row["programme"]), "municipality": row["municipality"],
            "persons": int(mine.sum()), "ip_coverage": float(persons.loc[mine, "_ip"].mean()),
            "ip_log_odds_effect": float(row["ip_effect"])})
    truth = {
        "generator": "evaluation.synthetic", "generator_version": GENERATOR_VERSION,
        "config": cfg.as_dict(),
        "institutions": institutions,
        "ip_coverage": float(ip.mean()),
        "ip_model": population.IP_MODEL,
        "confounders": ["severity", "rop_group", "months_in_service", "municipality_size",
                        "institution"],
        "confounding_note": "IP depends on severity, ROP group, months in service, municipality "
                            "size and institution; severity also worsens every outcome, so the "
                            "crude IP contrast understates the benefit of an IP.",
        "effects": {"goal_retention": goal_truth, "daily_chaos": chaos_truth,
                    "gas_tscore": gas_truth, "ors_ip_x_log_session": fit_truth,
                    **programme_truth},
        "residents": resp_truth, "staff": staff_truth, "inspire": inspire_truth,
        "brukerplan": bp_truth, "interviews": int_truth,
        "planted_problems": planted, "missing_values": missing,
        "files": {SOURCES[name][0]: {"source": name, "rows": int(len(df))}
                  for name, df in tables.items()},
    }
    return tables, truth


def _plant_mess(cfg: SyntheticConfig, tables: dict, persons: pd.DataFrame,
                rng: np.random.Generator) -> tuple[list, dict]:
    planted: list[dict] = []
    missing: dict = {}
    sev_weight = dict(zip(persons["person_id"], 2 * expit(persons["_s"])))

    def n_of(df, rate):
        return math.ceil(rate * len(df)) if rate > 0 and len(df) >= 20 else 0

    def record(source, pairs=(), bad=()):
        file = SOURCES[source][0]
        planted.extend({"source": source, "file": file, "row": c, "problem": "duplicate_submission",
                        "duplicate_of_row": o} for c, o in pairs)
        planted.extend({"source": source, "file": file, "row": r, "column": col,
                        "value": float(v), "problem": "out_of_range"} for r, col, v in bad)

    res = tables["residents"]
    w = res["resp_id"].map(sev_weight).to_numpy()
    item_cols = [c for c in res.columns if c.startswith(("chaos_", "gas_"))]
    missing["residents"] = mess.add_missing(res, item_cols + ["ip_usefulness"], cfg.missing_rate, w, rng)
    missing["residents"].update(mess.add_missing(res, ["goal_retention"], cfg.missing_rate / 2, w, rng))
    res, pairs = mess.add_duplicates(res, n_of(res, cfg.duplicate_rate), rng, time_column="$created")
    res["$submission_id"] = np.arange(len(res)) + 3_100_001   # the system numbers every submission
    bad = mess.add_out_of_range(res, {**{f"chaos_{j}": [0, 6, 7] for j in range(1, 7)},
                                      "ip_involvement": [0, 6]},
                                n_of(res, cfg.problem_rate), rng, {r for p in pairs for r in p})
    tables["residents"] = res
    record("residents", pairs, bad)

    fit = tables["fit"]
    w = fit["person_id"].map(sev_weight).to_numpy()
    missing["fit"] = mess.add_missing(fit, [f"ors_{j}" for j in range(1, 5)], cfg.missing_rate / 8, w, rng)
    fit, pairs = mess.add_duplicates(fit, n_of(fit, cfg.duplicate_rate / 2), rng)
    bad = mess.add_out_of_range(fit, {**{f"ors_{j}": [11.0, -1.0, 10.5] for j in range(1, 5)},
                                      **{f"srs_{j}": [12.0, -2.0] for j in range(1, 5)}},
                                n_of(fit, cfg.problem_rate), rng, {r for p in pairs for r in p})
    tables["fit"] = fit
    record("fit", pairs, bad)

    ins = tables["inspire"]
    w = ins["person_id"].map(sev_weight).to_numpy()
    missing["inspire"] = mess.add_missing(ins, [c for c in ins.columns if c.startswith("inspire_sup")],
                                          cfg.missing_rate / 2, w, rng)
    bad = mess.add_out_of_range(ins, {f"inspire_sup_{j:02d}": [5, -1] for j in range(1, 21)},
                                n_of(ins, cfg.problem_rate), rng, set())
    record("inspire", bad=bad)

    bp = tables["brukerplan"]
    bad = mess.add_out_of_range(bp, {d: [0, 6] for d in brukerplan.DOMAINS},
                                n_of(bp, cfg.problem_rate), rng, set())
    record("brukerplan", bad=bad)
    missing = {src: {c: n for c, n in cols.items() if n} for src, cols in missing.items()}
    return planted, missing


def write_study(out, cfg: SyntheticConfig | None = None) -> dict:
    """Generate and write a complete study folder; returns the ground truth."""
    cfg = cfg or SyntheticConfig()
    out = writable_dir(out, purpose="the synthetic study", hint="Choose a folder you can write to.")
    tables, truth = generate(cfg)
    for name, df in tables.items():
        file, fmt, _ = SOURCES[name]
        _write_table(_integers_as_integers(df), out / file, fmt)
    (out / "pseudonym.key").write_text(_synthetic_key(cfg.seed) + "\n", encoding="utf-8")
    (out / "study.yaml").write_text(manifest_text(cfg), encoding="utf-8")
    (out / "ground_truth.json").write_text(json.dumps(truth, indent=2, ensure_ascii=False,
                                                      default=_json_default) + "\n", encoding="utf-8")
    (out / "README.md").write_text(readme_text(cfg, truth), encoding="utf-8")
    return truth


def _write_table(df: pd.DataFrame, path: Path, fmt: dict) -> None:
    if path.suffix == ".xlsx":
        _write_reproducible_xlsx(df, path)
        return
    df.to_csv(path, index=False, sep=fmt.get("sep", ","), decimal=fmt.get("decimal", "."),
              encoding=fmt.get("encoding", "utf-8"), lineterminator="\n")


_FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def _write_reproducible_xlsx(df: pd.DataFrame, path: Path) -> None:
    """An .xlsx with no wall-clock time in it, so the same seed gives the same bytes.

    openpyxl stamps the current time into docProps/core.xml and into every zip entry; neither
    it nor pandas has an option to fix them, so the workbook properties are set and the archive
    is rewritten with fixed entry dates.
    """
    import datetime
    import io
    import zipfile

    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        df.to_excel(writer, index=False)
        writer.book.properties.created = datetime.datetime(*_FIXED_TIME)
    stamp = datetime.datetime(*_FIXED_TIME).strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as src, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "docProps/core.xml":   # openpyxl sets `modified` at save time
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>" + stamp.encode() + rb"\g<2>", data)
            dst.writestr(zipfile.ZipInfo(item.filename, date_time=_FIXED_TIME), data,
                         compress_type=zipfile.ZIP_DEFLATED)


def _integers_as_integers(df: pd.DataFrame) -> pd.DataFrame:
    """Write whole-number float columns (floats only because of blanks) as integers."""
    df = df.copy()
    for col in df.columns:
        s = df[col]
        if s.dtype.kind == "f" and s.notna().any() and np.all(np.mod(s.dropna(), 1) == 0):
            df[col] = s.astype("Int64")
    return df


def _synthetic_key(seed: int) -> str:
    # Derived from the seed so that regeneration gives byte-identical files. Only acceptable
    # because the data is synthetic: a real study's key is random and kept outside the study.
    return hashlib.sha256(f"ipeval-synthetic-pseudonym-key-{seed}".encode()).hexdigest()


# The study's variables as reports name them (scores are labelled in their instruments).
LABELS = {
    "has_ip": {"nb": "Har IP", "nn": "Har IP", "en": "Has an IP"},
    "goal_retention": {"nb": "Holder fast ved egne mål", "nn": "Held fast ved eigne mål",
                       "en": "Goal retention"},
    "age": {"nb": "Alder", "nn": "Alder", "en": "Age"},
    "sex": {"nb": "Kjønn", "nn": "Kjønn", "en": "Sex"},
    "severity": {"nb": "Alvorlighetsgrad", "nn": "Alvorsgrad", "en": "Severity"},
    "rop_group": {"nb": "ROP-gruppe", "nn": "ROP-gruppe", "en": "ROP group"},
    "months_in_service": {"nb": "Måneder i tjenesten", "nn": "Månader i tenesta",
                          "en": "Months in service"},
    "municipality_size": {"nb": "Kommunestørrelse", "nn": "Kommunestorleik",
                          "en": "Municipality size"},
    "institution": {"nb": "Institusjon", "nn": "Institusjon", "en": "Institution"},
}


def manifest_text(cfg: SyntheticConfig) -> str:
    import yaml
    sources = {}
    for name, (file, fmt, entry) in SOURCES.items():
        sources[name] = {"file": file, **entry}
    manifest = {
        "name": f"synthetic-korus-seed{cfg.seed}",
        "description": "Synthetic study drawn by `ipeval synth` from one latent population; "
                       "the truth is in ground_truth.json.",
        "id_column": "person_id",
        "institution_column": "institution",
        "pseudonymise": ["person_id", "staff_id", "participant_id"],
        "pseudonym_key_file": "pseudonym.key",
        "sources": sources,
        "exposure": {"source": "residents", "column": "has_ip"},
        "outcomes": {
            "goal_retention": {"source": "residents", "column": "goal_retention", "type": "binary"},
            "daily_chaos": {"source": "residents", "score": "daily_chaos", "type": "continuous",
                            "lower_is_better": True},
            "gas_tscore": {"source": "residents", "score": "gas_tscore", "type": "continuous"},
        },
        "covariates": ["age", "sex", "severity", "rop_group", "months_in_service",
                       "municipality_size"],
        "disclosure": {"min_cell": 5, "min_residual_dof": 10},
        "labels": LABELS,
    }
    header = ("# Study manifest of a synthetic study written by `ipeval synth` "
              f"(seed {cfg.seed}, {cfg.persons} persons, {cfg.institutions} institutions).\n"
              "# Paths are relative to this file. See README.md here and docs/study-manifest.md in ipeval.\n")
    return header + yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=100)


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    raise TypeError(f"not JSON serialisable: {type(value)}")
