"""The FIT tables of a study, and the IP label the feedback report groups them by.

A study names its sources freely; the session table is the source that carries the ORS, and
the episode table (optional) the one beside it with an ``end_reason``. :func:`fit_tables` finds
both, and :func:`join_ip` puts each row's IP status next to it as a readable label.
"""
from __future__ import annotations

from typing import NamedTuple

import pandas as pd

from evaluation.constraints import require_frame
from evaluation.describe import sources_with_instrument
from evaluation.errors import ParameterError

IP_LABELS = {1: "IP", 0: "no IP"}
UNKNOWN_IP = "IP status unknown"


class FitTables(NamedTuple):
    """A study's FIT session table and, when it has one, its episode table."""

    source: str
    sessions: pd.DataFrame
    episode_source: str | None
    episodes: pd.DataFrame | None

    def describe(self, study_name: str, institution: str | None = None) -> str:
        """One sentence (Markdown) saying which sources the report reads."""
        where = f" — {institution}" if institution else ""
        episodes = (f", episodes from `{self.episode_source}`" if self.episode_source
                    else ", no episodes table (dropout unknown)")
        return f"Study **{study_name}**{where}: FIT sessions from source `{self.source}`{episodes}."


def fit_tables(study) -> FitTables:
    """The study's FIT sessions (the first source with the ORS) and its episode table (the
    first other source with an ``end_reason`` column), or None for the latter.

    Raises ParameterError when no source carries the ORS.
    """
    found = sources_with_instrument(study, "ors")
    if not found:
        raise ParameterError(f"Study {study.name!r} has no source with the instrument ors "
                             f"(under `instrument:` in study.yaml).")
    source = found[0]
    episode_source = next((name for name in study.source_names if name != source
                           and "end_reason" in study.table(name).columns), None)
    return FitTables(source, study.table(source), episode_source,
                     study.table(episode_source) if episode_source else None)


def ip_label(values: pd.Series, unknown: str | None = None) -> pd.Series:
    """``IP`` for 1, ``no IP`` for 0; a missing status is ``unknown`` (left missing if None).

    >>> ip_label(pd.Series([1, 0, None]), unknown="IP status unknown").tolist()
    ['IP', 'no IP', 'IP status unknown']
    """
    label = values.map(IP_LABELS)
    return label if unknown is None else label.fillna(unknown)


def join_ip(table: pd.DataFrame, people: pd.DataFrame, exposure: str, id_column: str, *,
            unknown: str | None = None) -> pd.DataFrame:
    """``table`` with the person's ``exposure`` joined on ``id_column`` and its label ``IP``
    (:func:`ip_label`); rows keep their order."""
    require_frame(people, [id_column, exposure], "join_ip", "people")
    out = table.merge(people[[id_column, exposure]].drop_duplicates(id_column), on=id_column,
                      how="left")
    out["IP"] = ip_label(out[exposure], unknown)
    return out
