"""The study manifest, ``study.yaml`` (docs/study-manifest.md, a contract).

Parsing is strict: an unknown key is an error naming the key and the keys allowed, because a
misspelt ``outcome:`` silently ignored would give an analysis of nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from evaluation.constraints import StrictYAMLLoader, check_keys
from evaluation.errors import ManifestError
from evaluation.language.catalogue import LANGUAGES, SOURCE
from evaluation.language.labels import parse_label

TOP_LEVEL_KEYS = {
    "name", "description", "id_column", "institution_column", "pseudonymise",
    "pseudonym_key_file", "sources", "exposure", "outcomes", "covariates", "disclosure",
    "language", "labels",
}
SOURCE_KEYS = {"file", "instrument", "kind", "columns", "unique", "dates", "read", "description"}
READ_KEYS = {"sep", "encoding", "decimal", "sheet"}
SOURCE_KINDS = {"table", "questionnaire", "coded_segments"}
OUTCOME_KEYS = {"source", "column", "score", "type", "lower_is_better", "description"}
OUTCOME_TYPES = {"binary", "continuous"}
# The settings of evaluation.disclosure.DisclosureRules, with the type each must have; their
# ranges are the rules' own to check.
DISCLOSURE_KEYS = {
    "min_cell": (int, "a whole number"), "dominance_n": (int, "a whole number"),
    "dominance_k": ((int, float), "a number"), "p_ratio": ((int, float), "a number"),
    "min_residual_dof": (int, "a whole number"), "zeros_are_disclosive": (bool, "true or false"),
    "marker": (str, "text such as '<{min_cell}'"),
    "protected_marker": (str, "a short mark such as '·' or 'x'"),
}


@dataclass(frozen=True)
class SourceSpec:
    name: str
    file: Path
    instruments: tuple[str, ...] = ()
    kind: str = "table"
    columns: dict = field(default_factory=dict)
    unique: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    read: dict = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class OutcomeSpec:
    name: str
    source: str
    type: str
    column: str | None = None
    score: str | None = None
    lower_is_better: bool = False
    description: str = ""

    @property
    def variable(self) -> str:
        """The column that holds the outcome once the source is loaded (and scored)."""
        return self.column or self.score


@dataclass(frozen=True)
class Manifest:
    path: Path
    name: str
    sources: dict
    id_column: str = "person_id"
    institution_column: str = "institution"
    pseudonymise: tuple[str, ...] = ()
    pseudonym_key_file: Path | None = None
    exposure: dict | None = None
    outcomes: dict = field(default_factory=dict)
    covariates: tuple[str, ...] = ()
    disclosure: dict = field(default_factory=dict)
    description: str = ""
    language: str = SOURCE            # the reports' language (a run's parameter overrides it)
    labels: dict = field(default_factory=dict)    # variable -> {language: label}

    @property
    def root(self) -> Path:
        return self.path.parent


def load_manifest(path) -> Manifest:
    """Read and check ``study.yaml``; ``path`` may be the file or the study folder."""
    path = Path(path)
    if path.is_dir():
        path = path / "study.yaml"
    if not path.is_file():
        raise ManifestError(f"Study manifest not found: {path}. A study is a folder with a "
                            f"study.yaml that lists its sources (see README, 'Your own data').")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=StrictYAMLLoader)  # noqa: S506
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown place"
        raise ManifestError(f"{path}: not valid YAML at {where}: {exc.problem}.") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: not valid YAML ({exc}).") from None
    if not isinstance(raw, dict):
        raise ManifestError(f"{path}: the manifest must be a mapping of keys (name, sources, ...), "
                            f"got {type(raw).__name__}.")
    check_keys(raw, TOP_LEVEL_KEYS, f"{path}")
    root = path.parent.resolve()
    sources = _parse_sources(raw.get("sources"), root, path)
    name = str(raw.get("name") or root.name)
    key_file = raw.get("pseudonym_key_file")
    manifest = Manifest(
        path=path.resolve(),
        name=name,
        description=str(raw.get("description") or ""),
        sources=sources,
        id_column=str(raw.get("id_column", "person_id")),
        institution_column=str(raw.get("institution_column", "institution")),
        pseudonymise=tuple(_string_list(raw.get("pseudonymise", []), "pseudonymise", path)),
        pseudonym_key_file=(root / key_file) if key_file else None,
        exposure=_parse_exposure(raw.get("exposure"), sources, path),
        outcomes=_parse_outcomes(raw.get("outcomes") or {}, sources, path),
        covariates=tuple(_string_list(raw.get("covariates", []), "covariates", path)),
        disclosure=_parse_disclosure(raw.get("disclosure") or {}, path),
        language=_parse_language(raw.get("language"), path),
        labels=_parse_labels(raw.get("labels") or {}, path),
    )
    return manifest


def _parse_language(value, path: Path) -> str:
    if value is None:
        return SOURCE
    if not isinstance(value, str) or value.strip().lower() not in LANGUAGES:
        raise ManifestError(f"{path}: `language` is {value!r}; expected one of "
                            f"{', '.join(sorted(LANGUAGES))} (nb bokmål, nn nynorsk, en English).")
    return value.strip().lower()


def _parse_labels(raw, path: Path) -> dict:
    """``labels:`` maps a variable to its label, one text or one per language
    (``{nb: Kjønn, en: Sex}``)."""
    if not isinstance(raw, dict):
        raise ManifestError(f"{path}: `labels` must map variable names to labels, such as "
                            f"`labels: {{sex: {{nb: Kjønn, en: Sex}}}}`.")
    return {str(name): parse_label(label, f"{path}: labels.{name}") for name, label in raw.items()}


def _string_list(value, key: str, path: Path) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ManifestError(f"{path}: `{key}` must be a list of names, got {value!r}.")
    return list(value)


def _parse_sources(raw, root: Path, path: Path) -> dict:
    if not isinstance(raw, dict) or not raw:
        raise ManifestError(f"{path}: `sources` must map source names to their files, "
                            f"for example `residents: {{file: questionnaire_residents.csv}}`.")
    sources = {}
    for name, spec in raw.items():
        where = f"{path}, source {name!r}"
        if isinstance(spec, str):
            spec = {"file": spec}
        if not isinstance(spec, dict):
            raise ManifestError(f"{where}: expected a mapping with at least `file:`, got {spec!r}.")
        check_keys(spec, SOURCE_KEYS, where)
        if "file" not in spec:
            raise ManifestError(f"{where}: `file:` is missing.")
        file = (root / str(spec["file"])).resolve()
        if not file.is_file():
            raise ManifestError(f"{where}: file {spec['file']!r} does not exist (looked for "
                                f"{file}; paths are relative to the folder of study.yaml).")
        instruments = tuple(_string_list(spec.get("instrument") or [], f"sources.{name}.instrument",
                                         path))
        kind = spec.get("kind", "questionnaire" if instruments else "table")
        if kind not in SOURCE_KINDS:
            raise ManifestError(f"{where}: kind {kind!r} is not one of {sorted(SOURCE_KINDS)}.")
        columns = spec.get("columns") or {}
        if not isinstance(columns, dict):
            raise ManifestError(f"{where}: `columns:` must map raw names to canonical names.")
        read = spec.get("read") or {}
        if not isinstance(read, dict):
            raise ManifestError(f"{where}: `read:` must be a mapping such as "
                                f"`{{sep: ';', encoding: cp1252}}`, got {read!r}.")
        check_keys(read, READ_KEYS, f"{where}, read")
        sources[str(name)] = SourceSpec(
            name=str(name), file=file, instruments=instruments, kind=kind,
            columns={str(k): str(v) for k, v in columns.items()},
            unique=tuple(_string_list(spec.get("unique", []), f"sources.{name}.unique", path)),
            dates=tuple(_string_list(spec.get("dates", []), f"sources.{name}.dates", path)),
            read=dict(read), description=str(spec.get("description") or ""),
        )
    return sources


def _parse_exposure(raw, sources: dict, path: Path):
    if raw is None:
        return None
    if not isinstance(raw, dict) or {"source", "column"} - set(raw):
        raise ManifestError(f"{path}: `exposure` needs `source` and `column`, got {raw!r}.")
    check_keys(raw, {"source", "column", "description"}, f"{path}, exposure")
    if raw["source"] not in sources:
        raise ManifestError(f"{path}: exposure source {raw['source']!r} is not among the sources "
                            f"({', '.join(sources)}).")
    return {"source": raw["source"], "column": raw["column"]}


def _parse_outcomes(raw, sources: dict, path: Path) -> dict:
    if not isinstance(raw, dict):
        raise ManifestError(f"{path}: `outcomes` must map outcome names to their definitions.")
    outcomes = {}
    for name, spec in raw.items():
        where = f"{path}, outcome {name!r}"
        if not isinstance(spec, dict):
            raise ManifestError(f"{where}: expected a mapping, got {spec!r}.")
        check_keys(spec, OUTCOME_KEYS, where)
        if spec.get("source") not in sources:
            raise ManifestError(f"{where}: source {spec.get('source')!r} is not among the sources "
                                f"({', '.join(sources)}).")
        if bool(spec.get("column")) == bool(spec.get("score")):
            raise ManifestError(f"{where}: give exactly one of `column:` or `score:`.")
        if spec.get("type") not in OUTCOME_TYPES:
            raise ManifestError(f"{where}: type {spec.get('type')!r} is not one of "
                                f"{sorted(OUTCOME_TYPES)}.")
        outcomes[str(name)] = OutcomeSpec(
            name=str(name), source=spec["source"], type=spec["type"], column=spec.get("column"),
            score=spec.get("score"), lower_is_better=bool(spec.get("lower_is_better", False)),
            description=str(spec.get("description") or ""))
    return outcomes


def _parse_disclosure(raw, path: Path) -> dict:
    """The ``disclosure:`` block as a checked mapping (known keys, right types, no negative
    number); :meth:`evaluation.disclosure.DisclosureRules.from_manifest` reads the rules from it
    and checks their ranges."""
    if not isinstance(raw, dict):
        raise ManifestError(f"{path}: `disclosure` must be a mapping such as "
                            f"`{{min_cell: 5, min_residual_dof: 10}}`.")
    # Checked now, not when a notebook first shows a table: a misspelt rule would otherwise
    # fall back to a default the study never chose.
    unknown = sorted(set(map(str, raw)) - set(DISCLOSURE_KEYS))
    if unknown:
        raise ManifestError(f"{path}: unknown disclosure setting(s) {unknown}; known: "
                            f"{sorted(DISCLOSURE_KEYS)}.")
    for key, value in raw.items():
        kind, wanted = DISCLOSURE_KEYS[key]
        if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
            raise ManifestError(f"{path}: disclosure.{key} must be {wanted}, got {value!r}.")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            raise ManifestError(f"{path}: disclosure.{key} must not be negative, got {value}.")
    return dict(raw)
