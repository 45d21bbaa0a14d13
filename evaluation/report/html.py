"""A run's report as standalone HTML (the gate of :mod:`.gate` decides where it may go)."""
from __future__ import annotations

from pathlib import Path

import nbformat
from jinja2 import DictLoader
from nbconvert import HTMLExporter

from evaluation.report.gate import is_internal, with_banner
from evaluation.report.stamp import stamp_footer, stamp_language

# nbconvert's lab template loads require.js and MathJax from a CDN; on a closed network (where
# health data is analysed) those requests fail and the report waits on them. The reports use
# neither: the figures are images and the tables HTML. (LaTeX in markdown shows as written.)
_OFFLINE_TEMPLATE = DictLoader({"ipeval.html.j2": (
    "{%- extends 'lab/index.html.j2' -%}\n"
    "{%- block html_head_js_requirejs -%}{%- endblock -%}\n"
    "{%- block html_head_js_mathjax -%}{%- endblock -%}\n")})


def render_html(executed, target, *, show_code: bool = False, internal: bool | None = None,
                language: str | None = None) -> Path:
    """The executed notebook as a standalone HTML report; code cells hidden unless asked.

    An internal run's report (``internal``; by default read from the notebook,
    :func:`.gate.is_internal`) carries the banner "INTERNAL — not for sharing" at its top.
    A notebook ``ipeval run`` stamped ends with its provenance stamp (:mod:`.stamp`), written
    in ``language`` ("en" or "nb"; by default the report's language, else English).
    The file is written as it is: ``ipeval run`` writes it into the run's internal folder and
    moves it out only once the output check passed it.
    """
    nb = nbformat.read(str(executed), as_version=4)
    exporter = HTMLExporter(extra_loaders=[_OFFLINE_TEMPLATE], template_file="ipeval.html.j2",
                            exclude_input=not show_code, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    if is_internal(nb) if internal is None else internal:
        body = with_banner(body)
    stamp = (nb.metadata.get("ipeval") or {}).get("stamp")
    if stamp:
        footer = stamp_footer(stamp, language or stamp_language(stamp))
        end = body.lower().rfind("</body>")
        body = body[:end] + footer + body[end:] if end >= 0 else body + footer
    target = Path(target)
    target.write_text(body, encoding="utf-8")
    return target
