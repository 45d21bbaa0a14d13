"""Where a figure comes from: the table it illustrates, and whether it shows single people.

Every figure function of the package records, for the Figure it draws on, ``{"name",
"source", "person_level"}``: ``source`` is the name of the shown table the figure illustrates
(``SafeTable.record["name"]``), or ``None`` for a figure drawn from data under its own rule (a
histogram, a mean curve); ``person_level`` is true for a figure with a bar, line or label per
person (a waterfall of client episodes, individual trajectories), which only an internal run
draws. A figure of several panels carries one record: its ``source`` is the list of the
panels' tables when they illustrate more than one, and ``panels`` lists each panel's record.

The record goes to two places:

- the report's disclosure log, through ``Disclosure.figure_drawn`` when the figure function
  knows the report's ``Disclosure`` (given ``sdc=``, or a table that knows its own);
- the notebook output of the image: ``{"ipeval": {"figure": {...}}}`` under ``image/png`` in
  the output's metadata, which ``ipeval check`` reads. IPython formatters may return
  ``(data, metadata)``; the Figure's PNG formatter is wrapped, under a running IPython only,
  to add the record kept on the Figure (attribute :data:`ATTRIBUTE`). IPython is never
  imported here: it is looked up in ``sys.modules``, so scripts, tests and ``ipeval check``
  do not load it, and the analyses (which must not touch IPython) only call
  :func:`record_panel`.

Examples
--------
>>> import matplotlib; matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> ax = plt.subplots()[1]
>>> entry = record_panel(ax, "coverage by severity", source="IP coverage by severity")
>>> figure_record(ax)
{'name': 'coverage by severity', 'source': 'IP coverage by severity', 'person_level': False}
>>> plt.close("all")
"""
from __future__ import annotations

import sys
from contextlib import contextmanager

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from evaluation.errors import ParameterError

ATTRIBUTE = "ipeval_figure"          # the record of a Figure, as the notebook output gets it
PANELS = "ipeval_panels"             # the panels recorded so far on a Figure
METADATA_KEY = "ipeval"              # output.metadata["image/png"]["ipeval"]["figure"]
# MIME types whose Figure formatter gets the record (the contract names image/png; a report
# drawn as SVG or JPEG carries it just the same).
IMAGE_TYPES = ("image/png", "image/svg+xml", "image/jpeg", "application/pdf")

_COMPOSING: dict[int, list] = {}     # id(Figure) -> panels, while a figure-level call draws


def figure_of(target):
    """The matplotlib Figure of an Axes, a Figure, or an array of Axes."""
    if isinstance(target, Figure):
        return target
    if hasattr(target, "figure") and not hasattr(target, "flat"):
        return target.figure
    flat = list(getattr(target, "flat", target))
    if not flat:
        raise ParameterError(f"figure_of: {target!r} holds no Axes; expected an Axes, a Figure "
                             f"or an array of Axes.")
    return flat[0].figure


def figure_record(target) -> dict | None:
    """The record a figure carries (what its image's output metadata will say), or None."""
    return getattr(figure_of(target), ATTRIBUTE, None)


def person_level_allowed(name: str, internal: bool, sdc=None) -> bool:
    """Whether a person-level figure may be drawn: only when asked (``internal=True``), and
    then only if the report's Disclosure is internal too. Checked before anything is drawn, so
    that a refused figure never reaches the notebook's output."""
    if not internal:
        return False
    if sdc is not None and not getattr(sdc, "internal", False):
        raise ParameterError(f"{name}: internal=True, but the report's Disclosure is not "
                             f"internal; start the notebook with internal = True "
                             f"(Disclosure.for_study(study, internal=internal)) to draw "
                             f"person-level figures, and do not share that report.")
    return True


def record_panel(ax, name: str, *, source=None, person_level: bool = False, sdc=None) -> dict:
    """Record what the panel ``ax`` shows. Inside :func:`composed_figure` the panel joins the
    figure's one record; otherwise the Figure's record is updated and the panel is logged in
    ``sdc``. Returns the panel's own record."""
    entry = {"name": str(name), "source": source, "person_level": bool(person_level)}
    fig = figure_of(ax)
    if id(fig) in _COMPOSING:
        _COMPOSING[id(fig)].append((entry, sdc))
        return entry
    panels = getattr(fig, PANELS, [])
    setattr(fig, PANELS, panels + [entry])
    _finish(fig, None, panels + [entry], sdc, log=[entry])
    return entry


@contextmanager
def composed_figure(fig, name: str, *, sdc=None):
    """Draw a figure of several panels, recorded once as ``name``: the panels drawn inside
    (by functions calling :func:`record_panel`) make up its record, logged once in ``sdc``
    (or in the Disclosure a panel knew). Inside another composition of the same figure it
    adds its panels to that one. A figure whose drawing fails is closed, so that half of it
    is never shown."""
    fig = figure_of(fig)
    if id(fig) in _COMPOSING:          # nested: the outer composition records the figure
        yield fig
        return
    _COMPOSING[id(fig)] = []
    try:
        yield fig
    except BaseException:
        _COMPOSING.pop(id(fig), None)
        plt.close(fig)
        raise
    collected = _COMPOSING.pop(id(fig), [])
    new = [e for e, _ in collected]
    known = sdc if sdc is not None else next((s for _, s in collected if s is not None), None)
    prior = getattr(fig, PANELS, [])
    setattr(fig, PANELS, prior + new)
    _finish(fig, None if prior else name, prior + new, known, log=[combined(name, new)])


def combined(name, panels: list) -> dict:
    """One record for a figure of these panels."""
    if not panels:
        return {"name": str(name), "source": None, "person_level": False}
    sources = list(dict.fromkeys(p["source"] for p in panels if p["source"] is not None))
    record = {"name": str(name if name is not None else panels[0]["name"]),
              "source": sources[0] if len(sources) == 1 else (sources or None),
              "person_level": any(p["person_level"] for p in panels)}
    if len(panels) > 1:
        record["panels"] = [dict(p) for p in panels]
    return record


def _finish(fig, name, panels, sdc, *, log) -> None:
    """Set the Figure's record (of all its panels) and log the new entries in ``sdc``."""
    setattr(fig, ATTRIBUTE, combined(name, panels))
    try:
        if sdc is not None and hasattr(sdc, "figure_drawn"):
            for entry in log:
                sdc.figure_drawn(entry["name"], source=entry["source"],
                                 person_level=entry["person_level"])
    except Exception:
        plt.close(fig)         # refused by the report's Disclosure: never shown
        raise
    install_formatter()


# -- the notebook output's metadata ----------------------------------------------------------
def with_provenance(printer):
    """A Figure formatter that returns ``(data, metadata)`` with the Figure's record added."""
    if getattr(printer, "ipeval_provenance", False):
        return printer

    def print_with_record(fig, *args, **kwargs):
        data = printer(fig, *args, **kwargs)
        record = getattr(fig, ATTRIBUTE, None)
        if record is None or data is None:
            return data
        metadata = {}
        if isinstance(data, tuple) and len(data) == 2:
            data, metadata = data[0], dict(data[1] or {})
        metadata[METADATA_KEY] = {"figure": record}
        return data, metadata

    print_with_record.ipeval_provenance = True
    print_with_record.wrapped = printer
    return print_with_record


def install_formatter(shell=None) -> bool:
    """Wrap the running IPython's Figure formatters so the image outputs carry the record.
    Called whenever a figure is recorded: matplotlib's inline backend sets its formatters when
    it is first activated, which may be after this module was imported. Returns whether an
    IPython shell was found."""
    if shell is None:
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
    formatters = getattr(getattr(shell, "display_formatter", None), "formatters", None)
    if not formatters:
        return False
    for mime in IMAGE_TYPES:
        formatter = formatters.get(mime)
        if formatter is None:
            continue
        try:
            printer = formatter.lookup_by_type(Figure)
        except KeyError:
            continue
        if not getattr(printer, "ipeval_provenance", False):
            formatter.for_type(Figure, with_provenance(printer))
    return True
