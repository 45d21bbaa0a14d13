"""Instrument definitions: ``instruments/<name>.yaml`` read into checked objects.

Every number that shapes a score (ranges, cutoffs, reliable-change values, missing-item rules)
carries its ``source`` and a ``certainty`` (confirmed / secondary / unverified / project), because
the literature disagrees and a reader must be able to see where each value came from
(docs/instruments.md). Nothing here holds item wording: only neutral keys and labels.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from evaluation.errors import ManifestError
from evaluation.constraints import check_keys
from evaluation.language.labels import parse_label

CERTAINTIES = {"confirmed", "secondary", "unverified", "project"}
ITEM_TYPES = {"number", "integer", "binary", "category", "text", "date", "checkbox"}
SCORE_METHODS = {"sum", "mean", "count", "gas_tscore", "important_mean"}
OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
             "==": operator.eq, "!=": operator.ne}
TOP_KEYS = {"name", "title", "reference", "licence", "description", "includes", "items",
            "response", "reverse", "scores", "cutoffs", "reliable_change", "levels", "notes",
            "total_only", "labels"}
TOTAL_ONLY_KEYS = {"score", "source", "certainty", "note", "description"}
ITEM_KEYS = {"label", "type", "min", "max", "decimals", "categories", "options", "required",
             "asked_if", "source", "certainty", "description"}
SCORE_KEYS = {"items", "method", "min_items", "prorate", "range", "higher_is_better", "column",
              "rescale", "importance", "weights", "rho", "operator", "value", "source",
              "certainty", "description", "labels"}
CUTOFF_KEYS = {"score", "value", "operator", "flag", "apply", "applies_to", "source",
               "certainty", "note", "description"}


@dataclass(frozen=True)
class Item:
    key: str
    type: str = "number"
    min: float | None = None
    max: float | None = None
    decimals: int | None = None
    categories: tuple = ()
    options: tuple = ()
    required: bool = True
    asked_if: str | None = None
    label: str = ""
    source: str = ""
    certainty: str = ""

    @property
    def columns(self) -> list[str]:
        """The data columns this item occupies (a checkbox: one 0/1 column per option)."""
        if self.type == "checkbox":
            return [f"{self.key}_{o}" for o in self.options]
        return [self.key]


@dataclass(frozen=True)
class Score:
    name: str
    column: str
    items: tuple
    method: str = "sum"
    min_items: int | None = None
    prorate: bool = False
    range: tuple | None = None
    higher_is_better: bool = True
    rescale: tuple | None = None
    importance: tuple = ()
    weights: tuple = ()
    rho: float = 0.3
    operator: str = "=="
    value: float | None = None
    source: str = ""
    certainty: str = ""
    labels: dict = field(default_factory=dict)   # {language: label} of the score


@dataclass(frozen=True)
class Cutoff:
    name: str
    score: str
    value: float
    operator: str
    flag: str
    apply: bool = True
    source: str = ""
    certainty: str = ""
    note: str = ""

    def compare(self, values):
        return OPERATORS[self.operator](values, self.value)


@dataclass(frozen=True)
class Instrument:
    name: str
    title: str
    items: dict
    scores: dict
    cutoffs: dict = field(default_factory=dict)
    reliable_change: dict = field(default_factory=dict)
    # score name -> {score, source, certainty}: the data may give this score as a total alone
    # (items blank), and the items are then imputed as total / number of items (totals.py).
    total_only: dict = field(default_factory=dict)
    levels: dict = field(default_factory=dict)
    reverse: tuple = ()
    reference: str = ""
    licence: str = ""
    path: Path | None = None
    includes: tuple = ()        # names of the definitions included, recursively
    labels: dict = field(default_factory=dict)   # {language: title} of the instrument

    def carries(self, name: str) -> bool:
        """True if this is instrument ``name`` or includes it."""
        return name == self.name or name in self.includes

    @property
    def item_columns(self) -> list[str]:
        return [c for item in self.items.values() for c in item.columns]


def parse_instrument(raw: dict, path: Path, included: dict | None = None) -> Instrument:
    """Check one definition (already read from YAML) and build the Instrument.

    ``included`` maps names of other definitions to their Instruments, for ``includes:``.
    """
    where = str(path)
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: an instrument definition must be a mapping.")
    check_keys(raw, TOP_KEYS, where)
    name = raw.get("name") or path.stem
    defaults = dict(raw.get("response") or {})
    items: dict = {}
    scores: dict = {}
    cutoffs: dict = {}
    reliable: dict = {}
    total_only: dict = {}
    reverse = list(raw.get("reverse") or [])
    levels = dict(raw.get("levels") or {})
    includes: list[str] = []
    for inc in raw.get("includes") or []:
        if not included or inc not in included:
            raise ManifestError(f"{where}: includes unknown instrument {inc!r}.")
        other = included[inc]
        includes += [inc, *other.includes]
        items.update(other.items)
        scores.update(other.scores)
        cutoffs.update(other.cutoffs)
        reliable.update(other.reliable_change)
        total_only.update(other.total_only)
        reverse += list(other.reverse)
    for key, spec in (raw.get("items") or {}).items():
        own = dict(spec or {})
        inherited = dict(defaults)
        if own.get("type", inherited.get("type", "number")) not in {"number", "integer"}:
            # A 0/1 or category item in a scale of 1-5 items takes no range from `response:`.
            for k in ("min", "max", "decimals", "source", "certainty"):
                inherited.pop(k, None)
        spec = {**inherited, **own}
        check_keys(spec, ITEM_KEYS, f"{where}, item {key!r}")
        items[key] = _item(key, spec, where)
    unknown_rev = [k for k in reverse if k not in items]
    if unknown_rev:
        raise ManifestError(f"{where}: reverse-keyed item(s) {unknown_rev} are not items.")
    for sname, spec in (raw.get("scores") or {}).items():
        check_keys(spec, SCORE_KEYS, f"{where}, score {sname!r}")
        scores[sname] = _score(name, sname, spec, items, where)
    for cname, spec in (raw.get("cutoffs") or {}).items():
        check_keys(spec, CUTOFF_KEYS, f"{where}, cutoff {cname!r}")
        cutoffs[cname] = _cutoff(name, cname, spec, scores, where)
    for sname, spec in (raw.get("reliable_change") or {}).items():
        if sname not in scores:
            raise ManifestError(f"{where}: reliable_change for unknown score {sname!r}.")
        _certainty(spec, f"{where}, reliable_change {sname!r}")
        reliable[sname] = dict(spec)
    if raw.get("total_only"):
        spec = _total_only(raw["total_only"], scores, reverse, where)
        total_only[spec["score"]] = spec
    return Instrument(name=name, title=str(raw.get("title") or name), items=items, scores=scores,
                      cutoffs=cutoffs, reliable_change=reliable, total_only=total_only,
                      levels=levels,
                      reverse=tuple(reverse), reference=str(raw.get("reference") or ""),
                      licence=str(raw.get("licence") or ""), path=path,
                      includes=tuple(dict.fromkeys(includes)),
                      labels=parse_label(raw["labels"], f"{where}, labels")
                      if raw.get("labels") is not None else {})


def read_definition(path: Path) -> dict:
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path}: not valid YAML ({exc}).") from None


def _certainty(spec: dict, where: str) -> None:
    if "value" in spec or "min" in spec or "max" in spec:
        if not spec.get("source") or spec.get("certainty") not in CERTAINTIES:
            raise ManifestError(f"{where}: every number needs `source:` and `certainty:` (one of "
                                f"{sorted(CERTAINTIES)}).")


def _total_only(spec, scores: dict, reverse: list, where: str) -> dict:
    where = f"{where}, total_only"
    if not isinstance(spec, dict):
        raise ManifestError(f"{where}: must be a mapping with `score:`, `source:` and "
                            f"`certainty:`.")
    check_keys(spec, TOTAL_ONLY_KEYS, where)
    score = scores.get(spec.get("score"))
    # Only a plain sum of items keyed one way splits back into equal items.
    if (score is None or score.method != "sum" or score.rescale
            or set(score.items) & set(reverse)):
        raise ManifestError(f"{where}: score {spec.get('score')!r} is not a plain `sum` score "
                            f"of the instrument (no rescale, no reverse-keyed items); only such "
                            f"a sum can be split back into its items.")
    # Imputing items changes numbers, so the rule is sourced like any number.
    if not spec.get("source") or spec.get("certainty") not in CERTAINTIES:
        raise ManifestError(f"{where}: needs `source:` and `certainty:` (one of "
                            f"{sorted(CERTAINTIES)}), because it changes item values.")
    return dict(spec)


def _item(key: str, spec: dict, where: str) -> Item:
    kind = spec.get("type", "number")
    if kind not in ITEM_TYPES:
        raise ManifestError(f"{where}, item {key!r}: type {kind!r} not one of {sorted(ITEM_TYPES)}.")
    if kind in {"number", "integer"}:
        _certainty(spec, f"{where}, item {key!r}")
    if kind == "category" and not spec.get("categories"):
        raise ManifestError(f"{where}, item {key!r}: a category item needs `categories:`.")
    if kind == "checkbox" and not spec.get("options"):
        raise ManifestError(f"{where}, item {key!r}: a checkbox item needs `options:`.")
    return Item(key=key, type=kind, min=spec.get("min"), max=spec.get("max"),
                decimals=spec.get("decimals"), categories=tuple(spec.get("categories") or ()),
                options=tuple(spec.get("options") or ()), required=bool(spec.get("required", True)),
                asked_if=spec.get("asked_if"), label=str(spec.get("label") or ""),
                source=str(spec.get("source") or ""), certainty=str(spec.get("certainty") or ""))


def _score(instrument: str, name: str, spec: dict, items: dict, where: str) -> Score:
    method = spec.get("method", "sum")
    if method not in SCORE_METHODS:
        raise ManifestError(f"{where}, score {name!r}: method {method!r} not one of "
                            f"{sorted(SCORE_METHODS)}.")
    listed = list(spec.get("items") or [])
    missing = [i for i in listed + list(spec.get("importance") or []) if i not in items]
    if not listed or missing:
        raise ManifestError(f"{where}, score {name!r}: needs `items:` that are items of the "
                            f"instrument; unknown: {missing}.")
    if method == "count" and spec.get("value") is None:
        raise ManifestError(f"{where}, score {name!r}: a `count` score needs `value:` (and "
                            f"`operator:`, default '==') to say which answers it counts.")
    if spec.get("prorate") and not spec.get("min_items"):
        raise ManifestError(f"{where}, score {name!r}: `prorate: true` needs `min_items:`.")
    if method in {"important_mean"} and len(spec.get("importance") or []) != len(listed):
        raise ManifestError(f"{where}, score {name!r}: `importance:` must pair one flag with "
                            f"each item.")
    return Score(name=name, column=spec.get("column") or f"{instrument}_{name}", items=tuple(listed),
                 method=method, min_items=spec.get("min_items"), prorate=bool(spec.get("prorate")),
                 range=tuple(spec["range"]) if spec.get("range") else None,
                 higher_is_better=bool(spec.get("higher_is_better", True)),
                 rescale=tuple(spec["rescale"]) if spec.get("rescale") else None,
                 importance=tuple(spec.get("importance") or ()),
                 weights=tuple(spec.get("weights") or ()), rho=float(spec.get("rho", 0.3)),
                 operator=spec.get("operator", "=="), value=spec.get("value"),
                 source=str(spec.get("source") or ""), certainty=str(spec.get("certainty") or ""),
                 labels=parse_label(spec["labels"], f"{where}, score {name!r}, labels")
                 if spec.get("labels") is not None else {})


def _cutoff(instrument: str, name: str, spec: dict, scores: dict, where: str) -> Cutoff:
    _certainty(spec, f"{where}, cutoff {name!r}")
    target = spec.get("score")
    if target not in scores and target != "any_item":
        raise ManifestError(f"{where}, cutoff {name!r}: score {target!r} is not defined "
                            f"(or use `any_item`).")
    op = spec.get("operator", "<")
    if op not in OPERATORS:
        raise ManifestError(f"{where}, cutoff {name!r}: operator {op!r} not one of {sorted(OPERATORS)}.")
    return Cutoff(name=name, score=target, value=float(spec["value"]), operator=op,
                  flag=spec.get("flag") or f"{instrument}_{name}", apply=bool(spec.get("apply", True)),
                  source=str(spec.get("source", "")),
                  certainty=str(spec.get("certainty", "")), note=str(spec.get("note", "")))
