"""A run's report as standalone HTML, written only after the output check has passed it."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import nbformat
from jinja2 import DictLoader
from nbconvert import HTMLExporter

from evaluation.disclosure.output_check import check_path, report
from evaluation.errors import DisclosureFindings
from evaluation.study import resolve_study_path


def checked_html(executed: Path, target: Path, *, show_code: bool, study, accept_risk):
    """Render to a private temporary file, check it, and only then put it where it is shared.
    Returns (path, check summary); raises DisclosureFindings when it must not be written."""
    with tempfile.TemporaryDirectory(prefix="ipeval-check-") as tmp:
        draft = render_html(executed, Path(tmp) / target.name, show_code=show_code)
        study_path = resolve_study_path(study) if isinstance(study, str) and study else None
        findings = check_path(draft, study=study_path)
        summary = {"report": target.name, "findings": int(len(findings)),
                   "rules": sorted(set(findings["rule"])) if len(findings) else [],
                   "accepted_risk": accept_risk if len(findings) else None,
                   "written": not len(findings) or bool(accept_risk)}
        if len(findings) and not accept_risk:
            text = report(findings).replace(str(draft), target.name)
            refused = DisclosureFindings(
                f"The report was not written: the output check found {len(findings)} problem(s) "
                f"that must not be shared.\n{text}\nFix the notebook (show tables through the "
                f"disclosure layer), or write it anyway with --accept-risk \"reason\"; the reason "
                f"is kept in the run's log.")
            refused.summary = summary
            raise refused
        shutil.copyfile(draft, target)
    return target, summary


# nbconvert's lab template loads require.js and MathJax from a CDN; on a closed network (where
# health data is analysed) those requests fail and the report waits on them. The reports use
# neither: the figures are images and the tables HTML. (LaTeX in markdown shows as written.)
_OFFLINE_TEMPLATE = DictLoader({"ipeval.html.j2": (
    "{%- extends 'lab/index.html.j2' -%}\n"
    "{%- block html_head_js_requirejs -%}{%- endblock -%}\n"
    "{%- block html_head_js_mathjax -%}{%- endblock -%}\n")})


def render_html(executed, target, *, show_code: bool = False) -> Path:
    """The executed notebook as a standalone HTML report; code cells hidden unless asked."""
    nb = nbformat.read(str(executed), as_version=4)
    exporter = HTMLExporter(extra_loaders=[_OFFLINE_TEMPLATE], template_file="ipeval.html.j2",
                            exclude_input=not show_code, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    target = Path(target)
    target.write_text(body, encoding="utf-8")
    return target


