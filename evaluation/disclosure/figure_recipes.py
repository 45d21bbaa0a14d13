"""Figures that can be drawn again from the tables they illustrate: ``@redrawable``.

A batch's release may hide a count in a report after the run (another report would give it
away); a figure drawn from that table must then be drawn again without it. A figure function
marked ``@redrawable`` that makes its own figure (it returns the Figure, or it was not given
``ax=``) from shown tables (``SafeTable``s, alone or in a dict or list) and plain settings is
recorded, when it draws, as a *recipe*: the function's name, and its arguments with each table
named by its serial number in the report. The run's private record keeps the recipes
(:mod:`.private_record`); the release calls the same function with the tables as they now are
(:func:`redraw`). A figure drawn on by something else afterwards, or from anything else (a
frame of people), has no recipe and is withheld instead.
"""
from __future__ import annotations

import functools
import importlib

from evaluation.disclosure.figure_provenance import figure_of, figure_record
from evaluation.disclosure.safe_table import SafeTable

__all__ = ["redraw", "redrawable"]

_UNSET = object()


def redrawable(func):
    """Mark a figure function whose figure the release may draw again (see the module)."""
    @functools.wraps(func)
    def drawn(*args, **kwargs):
        result = func(*args, **kwargs)
        given_ax = kwargs.get("ax") is not None
        tables = [t for t in _tables(args, kwargs)]
        sdc = kwargs.get("sdc") or next((t.disclosure for t in tables if t.disclosure), None)
        if sdc is None or not hasattr(sdc, "figure_recipes"):
            return result
        try:
            fig = figure_of(result)
        except Exception:  # noqa: BLE001 — a result that is no figure has nothing to redraw
            return result
        earlier = [r for r in sdc.figure_recipes if r.get("_figure") == id(fig)]
        for recipe in earlier:        # drawn on again: the first recipe alone would lose it
            recipe["valid"] = False
        encoded = _encode((args, kwargs))
        record = figure_record(fig) or {}
        sdc.figure_recipes.append({
            "module": func.__module__, "name": func.__qualname__,
            "args": None if encoded is _UNSET else encoded[0],
            "kwargs": None if encoded is _UNSET else encoded[1],
            "figure": record.get("name"), "_figure": id(fig),
            "valid": encoded is not _UNSET and not given_ax and not earlier})
        return result
    drawn.ipeval_redrawable = True
    return drawn


def _tables(args, kwargs):
    for value in [*args, *kwargs.values()]:
        if isinstance(value, SafeTable):
            yield value
        elif isinstance(value, dict):
            yield from (v for v in value.values() if isinstance(v, SafeTable))
        elif isinstance(value, (list, tuple)):
            yield from (v for v in value if isinstance(v, SafeTable))


def _encode(value):
    """JSON of the call, tables as ``{"$table": serial}``; _UNSET when something cannot be."""
    if isinstance(value, SafeTable):
        serial = value.record.get("serial")
        return _UNSET if serial is None else {"$table": serial}
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], dict) and \
            isinstance(value[0], tuple):
        args = [_encode(v) for v in value[0]]
        kwargs = {k: _encode(v) for k, v in value[1].items() if k not in ("sdc", "rules", "ax")}
        if any(a is _UNSET for a in args) or any(v is _UNSET for v in kwargs.values()):
            return _UNSET
        return args, kwargs
    if isinstance(value, dict):
        out = {str(k): _encode(v) for k, v in value.items()}
        return _UNSET if any(v is _UNSET for v in out.values()) else {"$dict": out}
    if isinstance(value, (list, tuple)):
        out = [_encode(v) for v in value]
        return _UNSET if any(v is _UNSET for v in out) else {"$list": out}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return _UNSET


def _decode(value, tables: dict):
    if isinstance(value, dict):
        if "$table" in value:
            return tables[value["$table"]]
        if "$dict" in value:
            return {k: _decode(v, tables) for k, v in value["$dict"].items()}
        if "$list" in value:
            return [_decode(v, tables) for v in value["$list"]]
    return value


def redraw(recipe: dict, tables: dict, sdc):
    """The Figure of ``recipe`` drawn again from ``tables`` (serial → SafeTable), logged in
    ``sdc``. Only ipeval's own functions marked ``@redrawable`` are called."""
    module = str(recipe["module"])
    if not (module == "evaluation" or module.startswith("evaluation.")):
        raise ValueError(f"redraw: {module} is not a module of ipeval")
    func = importlib.import_module(module)
    for part in str(recipe["name"]).split("."):
        func = getattr(func, part)
    if not getattr(func, "ipeval_redrawable", False):
        raise ValueError(f"redraw: {module}.{recipe['name']} is not marked @redrawable")
    args = [_decode(a, tables) for a in recipe["args"]]
    kwargs = {k: _decode(v, tables) for k, v in recipe["kwargs"].items()}
    return figure_of(func(*args, **kwargs, sdc=sdc))
