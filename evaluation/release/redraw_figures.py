"""Figures of a report drawn again with the tables as the batch's release left them.

A figure's image output is matched to the recipe the run recorded for it
(:mod:`evaluation.disclosure.figure_recipes`) by its name and place among the figures of that
name; the same function draws it from the re-rendered tables, and the new image replaces the
old one with the figure's record updated. A figure without a valid recipe is withheld.
"""
from __future__ import annotations

import copy
from collections import Counter

import matplotlib

matplotlib.use("Agg")       # the release draws headless, whatever the machine has
import matplotlib.pyplot as plt  # noqa: E402
from IPython.core.pylabtools import print_figure  # noqa: E402

from evaluation.disclosure.figure_provenance import METADATA_KEY, figure_record  # noqa: E402
from evaluation.disclosure.figure_recipes import redraw  # noqa: E402
from evaluation.disclosure.safe_tables import Disclosure  # noqa: E402
from evaluation.release.rerender import table_from_record  # noqa: E402

__all__ = ["FigureRedrawer"]


class FigureRedrawer:
    """``redrawer(output, name, k)``: the k-th figure output named ``name`` drawn again, or
    None when it cannot be (no recipe, or one that is not valid)."""

    def __init__(self, recipes: list, tables: dict, rules):
        self.recipes = list(recipes or [])
        self.tables, self.rules = tables, rules
        self.drawn = Counter()

    def __call__(self, output, name: str, k: int):
        matching = [r for r in self.recipes if r.get("figure") == name]
        if k >= len(matching) or not matching[k].get("valid"):
            return None
        sdc = Disclosure(self.rules)
        shown = {s: table_from_record(e, self.rules) for s, e in self.tables.items()}
        for table in shown.values():
            table.disclosure = sdc
        fig = redraw(matching[k], shown, sdc)
        try:
            png = print_figure(fig, "png", bbox_inches="tight", base64=True)
            record = figure_record(fig)
        finally:
            plt.close(fig)
        new = copy.deepcopy(output)
        new["data"]["image/png"] = png
        meta = dict(new.get("metadata", {}).get("image/png", {}) or {})
        meta.pop("width", None)
        meta.pop("height", None)
        meta[METADATA_KEY] = {"figure": record}
        new.setdefault("metadata", {})["image/png"] = meta
        self.drawn[name] += 1
        return new
