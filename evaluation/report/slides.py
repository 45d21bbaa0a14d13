"""An executed notebook as reveal.js slides, checked for disclosure risks before it is written.

A report read aloud at a meeting: code hidden, each chapter of the notebook (a markdown cell
opening with ``#`` or ``##``) starts a slide, each section (``###``) a slide below it, and the
outputs follow the text they belong to. The slides are checked exactly as ``ipeval run`` checks
its HTML report: rendered in a private temporary folder, read by the output checker, and only
then copied where they are shared. An internal run's slides say "INTERNAL — not for sharing" on
every slide and are written only to ``internal/``.

reveal.js, require.js and jQuery are not inlined: the page loads them from ``reveal_url_prefix``
(nbconvert's default is a CDN, unpkg.com). On a closed network, point ``reveal_url_prefix`` at
a copy of reveal.js 4 the browsers can reach (a folder beside the slides, or an intranet
address); without it the file opens as plain text and figures, not as slides.
"""
from __future__ import annotations

import copy
import re
import shutil
import tempfile
from pathlib import Path

import nbformat
from nbconvert import SlidesExporter

from evaluation.disclosure.output_check import check_path
from evaluation.errors import DisclosureFindings, InputFileError
from evaluation.report.gate import Gate, is_internal, rule_counts, with_banner
from evaluation.report.stamp import stamp_footer, stamp_language
from evaluation.study import resolve_study_path

__all__ = ["render_slides", "slide_types", "slides_html"]

_CHAPTER = re.compile(r"^#{1,2}\s")
_SECTION = re.compile(r"^#{3}\s")
_PARAMETER_TAGS = {"parameters", "injected-parameters"}


def slide_types(nb) -> list[str]:
    """The reveal.js slide type of each cell of a notebook: ``slide`` for a markdown cell that
    opens with a ``#`` or ``##`` heading, ``subslide`` for ``###``, ``skip`` for code cells
    that show nothing (the parameters among them), ``-`` (the slide goes on) for the rest.

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook(cells=[
    ...     nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("x = 1"),
    ...     nbformat.v4.new_markdown_cell("Text"), nbformat.v4.new_markdown_cell("### Part"),
    ...     nbformat.v4.new_markdown_cell("  ## Next")])
    >>> slide_types(nb)
    ['slide', 'skip', '-', 'subslide', 'slide']
    """
    types = []
    for cell in nb.cells:
        text = "".join(cell.source).lstrip()     # a list of lines in some files
        if cell.cell_type == "markdown" and _CHAPTER.match(text):
            types.append("slide")
        elif cell.cell_type == "markdown" and _SECTION.match(text):
            types.append("subslide")
        elif cell.cell_type == "code" and (not cell.get("outputs")
                                           or _PARAMETER_TAGS & set(cell.metadata.get("tags", []))):
            types.append("skip")
        else:
            types.append("-")
    return types


def slides_html(executed, *, reveal_url_prefix: str | None = None,
                internal: bool | None = None, language: str | None = None) -> str:
    """An executed notebook as reveal.js slides (code hidden), as text; an internal run's
    (``internal``; by default read from the notebook) with the banner "INTERNAL — not for
    sharing" on every slide. A stamped notebook's last slide is its provenance stamp
    (:mod:`.stamp`, in ``language`` as :func:`.html.render_html` writes it). Nothing is
    checked or written: see :func:`render_slides`.

    Raises
    ------
    InputFileError
        If ``executed`` is missing or not a notebook.
    """
    executed = Path(executed)
    if not executed.is_file():
        raise InputFileError(executed, "executed notebook not found: nothing to make slides of.")
    try:
        nb = nbformat.read(str(executed), as_version=4)
    except Exception as exc:  # nbformat raises several kinds for a file that is not a notebook
        raise InputFileError(executed, f"cannot read the notebook ({exc}).") from None
    nb = copy.deepcopy(nb)    # the slide types are for this rendering only
    for cell, kind in zip(nb.cells, slide_types(nb)):
        cell.metadata.setdefault("slideshow", {})["slide_type"] = kind
    stamp = (nb.metadata.get("ipeval") or {}).get("stamp")
    if stamp:      # a slide of its own at the end, shown as an output (code is hidden)
        footer = stamp_footer(stamp, language or stamp_language(stamp))
        cell = nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output(
            "display_data", data={"text/html": footer})])
        cell.metadata["slideshow"] = {"slide_type": "slide"}
        nb.cells.append(cell)
    exporter = SlidesExporter(exclude_input=True, exclude_input_prompt=True,
                              exclude_output_prompt=True, reveal_scroll=True)
    if reveal_url_prefix is not None:
        exporter.reveal_url_prefix = reveal_url_prefix.rstrip("/")
    body, _ = exporter.from_notebook_node(nb)
    if is_internal(nb) if internal is None else internal:
        body = with_banner(body, slides=True)
    return body


def render_slides(executed, target, *, study=None, reveal_url_prefix: str | None = None,
                  accept_risk: str | None = None) -> Path:
    """Write an executed notebook as reveal.js slides (code hidden), once the output checker
    found nothing in them that must not be shared.

    Parameters
    ----------
    executed : str or Path
        An executed notebook (``.ipynb``); it is read, never changed.
    target : str or Path
        Where the slides go (``.slides.html`` by nbconvert's habit, any name works).
    study : str, Path or Study, optional
        The study the notebook ran on: enables the checker's ``identifier`` and ``quote`` rules
        and its disclosure settings, as for ``ipeval run``.
    reveal_url_prefix : str, optional
        Where the page loads reveal.js from; default nbconvert's (a CDN). Closed networks must
        give a reachable copy of reveal.js 4 (a relative folder such as ``"reveal.js"`` works).
    accept_risk : str, optional
        A reason to write the slides despite findings; without it findings refuse them.

    Returns
    -------
    Path
        ``target``.

    Raises
    ------
    InputFileError
        If ``executed`` is missing or not a notebook.
    DisclosureFindings
        If the checker found something (national ID numbers, identifiers, person-level tables,
        small cells outside the disclosure layer, quotes, paths of this machine) and no
        ``accept_risk`` was given; nothing is written then. Slides of an internal run
        (``internal = True``) are written to ``internal/`` beside ``target`` (mode 0700),
        with the banner on every slide, and refused the same way, ``accept_risk`` or not.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Results"),
    ...     nbformat.v4.new_markdown_cell("## Next"), nbformat.v4.new_markdown_cell("Text")])
    >>> nbformat.write(nb, str(folder / "report.ipynb"))
    >>> slides = render_slides(folder / "report.ipynb", folder / "report.slides.html")
    >>> slides.read_text(encoding="utf-8").count("<section")
    4
    """
    executed, target = Path(executed), Path(target)
    body = slides_html(executed, reveal_url_prefix=reveal_url_prefix)
    internal = is_internal(executed)
    with tempfile.TemporaryDirectory(prefix="ipeval-check-") as tmp:
        draft = Path(tmp) / (target.name if target.suffix.lower() in {".html", ".htm"}
                             else f"{target.name}.html")   # the checker reads by suffix
        draft.write_text(body, encoding="utf-8")
        if internal:
            gate = Gate(target.parent, study if isinstance(study, (str, Path)) else None)
            findings = gate.check({target.name: draft}, internal=True)
            kept = gate.private / target.name
            shutil.copyfile(draft, kept)
            raise gate.refuse(findings, ["the slides"], internal=True, executed=executed,
                              summary=gate.summary(findings, report=target.name, internal=True,
                                                   accept_risk=None, written=False))
        findings = check_path(draft, study=_study_path(study))
        if len(findings) and not accept_risk:
            counts = ", ".join(f"{rule}: {n}" for rule, n in rule_counts(findings).items())
            raise DisclosureFindings(
                f"The slides were not written: the output check found {len(findings)} "
                f"problem(s) that must not be shared ({counts}); `ipeval check` on the "
                f"executed notebook says where. Fix the notebook (show tables through the "
                f"disclosure layer), or write them anyway with accept_risk=\"reason\".")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(draft, target)
    return target


def _study_path(study):
    if isinstance(study, (str, Path)) and str(study):
        return resolve_study_path(study)
    return study
