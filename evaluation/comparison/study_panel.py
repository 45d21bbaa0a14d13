"""A study's programme, as the comparison notebook needs it: the panel source, the start dates
from ``programme_starts`` (institution-wide or per department) and the units they make."""
from __future__ import annotations

import pandas as pd

from evaluation.comparison.panel import programme_panel
from evaluation.errors import ParameterError

STARTS_SOURCE = "programme_starts"


def study_programme_panel(study, *, programme: str, outcome: str, source: str | None = None,
                          starts: dict | None = None, comparison=None,
                          period: str = "period") -> pd.DataFrame:
    """The :func:`~evaluation.comparison.panel.programme_panel` of ``programme`` in ``study``.

    The panel source is ``source`` or the first source with a ``period`` column. Start dates
    come from ``starts`` ({unit: date}) or from the study's ``programme_starts`` source; when the
    programme starts per department, its departments are the units and only the institutions
    that hold them are compared. ``attrs`` adds ``unit``, ``starts`` and ``source``.

    Raises ParameterError naming what is missing: no panel source, no programme_starts source,
    an unknown programme, or a design the panel refuses (no pre-period, a single comparison…).
    """
    source = source or next((n for n in study.source_names
                             if period in study.table(n).columns), None)
    if source is None:
        raise ParameterError(f"Study {study.name!r} has no source with a {period!r} column: "
                             f"there is nothing to compare before and after.")
    data = study.table(source)
    if starts is None:
        if STARTS_SOURCE not in study.source_names:
            raise ParameterError(f"Study {study.name!r} has no {STARTS_SOURCE} source; give "
                                 f"starts={{unit: date}}.")
        table = study.table(STARTS_SOURCE)
        mine = table[table["programme"] == programme]
        if mine.empty:
            raise ParameterError(f"No programme {programme!r} in {STARTS_SOURCE}; it has "
                                 f"{sorted(table['programme'].dropna().unique())}.")
        by_department = "department" in mine.columns and mine["department"].notna().any()
        unit = "department" if by_department else study.institution_column
        starts = dict(zip(mine["department" if by_department else "institution"],
                          mine["start_date"]))
        if by_department:     # a roll-out inside an institution: its departments are compared
            data = data[data[study.institution_column].isin(mine["institution"].unique())]
    else:
        departments = set(data["department"]) if "department" in data.columns else set()
        unit = "department" if set(starts) <= departments else study.institution_column
    design = programme_panel(data, outcome=outcome, unit=unit, period=period, starts=dict(starts),
                             comparison=comparison)
    design.attrs.update(unit=unit, starts=dict(starts), source=source)
    return design
