"""Instrument definitions (``instruments/*.yaml``) and scoring.

Definitions are looked up, first match wins, in: an ``instruments/`` folder beside the study's
``study.yaml`` (a study's own instruments), the folders in ``IPEVAL_INSTRUMENTS``
(``os.pathsep``-separated), and the project's ``instruments/`` folder.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from evaluation.errors import ManifestError
from evaluation.instruments.definition import Cutoff, Instrument, Item, Score, parse_instrument, read_definition
from evaluation.instruments.scoring import keyed_items, score_instrument

PROJECT_INSTRUMENTS = Path(__file__).resolve().parents[2] / "instruments"

__all__ = ["Instrument", "Item", "Score", "Cutoff", "load_instrument", "available_instruments",
           "score_instrument", "keyed_items", "search_path"]


def search_path(extra=()) -> tuple[Path, ...]:
    env = [Path(p) for p in os.environ.get("IPEVAL_INSTRUMENTS", "").split(os.pathsep) if p]
    return tuple(Path(p) for p in extra) + tuple(env) + (PROJECT_INSTRUMENTS,)


def available_instruments(extra=()) -> list[str]:
    names = set()
    for folder in search_path(extra):
        if folder.is_dir():
            names.update(p.stem for p in folder.glob("*.yaml"))
    return sorted(names)


def load_instrument(name: str, extra=()) -> Instrument:
    """The definition named ``name``, with ``includes:`` resolved."""
    return _load(name, search_path(extra), ())


@lru_cache(maxsize=256)
def _load(name: str, path: tuple, chain: tuple) -> Instrument:
    if name in chain:
        raise ManifestError(f"Instrument definitions include each other in a loop: "
                            f"{' -> '.join(chain + (name,))}.")
    for folder in path:
        candidate = folder / f"{name}.yaml"
        if candidate.is_file():
            raw = read_definition(candidate)
            includes = (raw or {}).get("includes") or [] if isinstance(raw, dict) else []
            included = {inc: _load(inc, path, chain + (name,)) for inc in includes}
            return parse_instrument(raw, candidate, included)
    raise ManifestError(f"Unknown instrument {name!r}: no {name}.yaml in "
                        f"{', '.join(str(p) for p in path)}. Known: "
                        f"{', '.join(available_instruments()) or 'none'}.")
