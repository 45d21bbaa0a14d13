"""A run's report as a Word file and as a PDF, made from its standalone HTML
(:func:`.html.render_html`), behind a cover page (see docs/documents.md).

Both show what the HTML shows — its text, tables and figures, after the same disclosure
control — and nothing interactive (scripts, widgets). The Word file is written by pandoc
(Debian's package) with a reference document for its look (:mod:`.reference_doc`); the PDF is
the HTML printed by Debian's Chromium, driven by Playwright. Neither needs the network: pandoc
is given only images inside the HTML, and Chromium loads the report's own file and nothing else.

The cover's words come in already translated (``cover``); this module writes none of its own
but the :data:`FALLBACK_LABELS` of fields given by key.
"""
from __future__ import annotations

import asyncio
import html
import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import docx
from docx.enum.text import WD_BREAK
from docx.oxml.ns import qn
from playwright.sync_api import Browser, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from evaluation.constraints import InstanceOf, Interval, validate_params
from evaluation.disclosure.document_files import document_marks, write_marks
from evaluation.errors import OutputError, ParameterError
from evaluation.language.catalogue import LANGUAGES
from evaluation.report.document_html import first_heading, print_html, word_html
from evaluation.report.reference_doc import COVER_STYLES, write_reference_doc

__all__ = ["CHROMIUM_ARGS", "FALLBACK_LABELS", "TIMEOUT", "launch_chromium", "program",
           "write_docx", "write_pdf"]

# Labels of the fields a cover may give by key (``"institution": "Karlsborg"``) rather than as
# (label, value) pairs; a report in another language gives its own pairs.
FALLBACK_LABELS = {"institution": "Institution", "period": "Period", "date": "Date"}
COVER_KEYS = {"title", "subtitle", "fields", "language", *FALLBACK_LABELS}
TIMEOUT = 120                        # seconds for one conversion
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
CHROMIUM_ARGS = ["--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic"]
_MARGINS = {"top": "20mm", "bottom": "18mm", "left": "16mm", "right": "16mm"}
# Chromium's header and footer have no style of their own: a font size must be given.
_SMALL = ("font: 8pt system-ui, 'Liberation Sans', sans-serif; width: 100%; padding: 0 16mm; "
          "box-sizing: border-box;")
_SKIPPED = {qn("w:bookmarkStart"), qn("w:bookmarkEnd")}


def program(name: str, what: str) -> str:
    """The path of ``pandoc`` or ``chromium`` on the PATH; without it an :class:`OutputError`
    saying what to install (``what`` is the file that cannot be written)."""
    found = shutil.which(name)
    if found is None:
        raise OutputError(f"Cannot write {what}: {name} is not installed. Install Debian's "
                          f"{name} (apt-get install {name}; `make test` and `make demo` "
                          f"install it).")
    return found


_PARAMS = {"html_path": [str, os.PathLike], "target": [str, os.PathLike], "cover": [dict],
           "timeout": [Interval(0, None, closed="neither")]}


@validate_params(_PARAMS)
def write_docx(html_path, target, *, cover: dict, timeout: float = TIMEOUT) -> Path:
    """The report ``html_path`` as a Word file ``target``, behind a cover page.

    Parameters
    ----------
    html_path : str or Path
        The run's standalone HTML report.
    target : str or Path
        The ``.docx`` to write (its folder must exist).
    cover : dict
        The cover's text, translated: ``title`` (default: the report's first heading),
        ``subtitle``, ``fields`` (``[(label, value), ...]``), ``language`` (``nb``, ``nn``,
        ``en`` or a BCP 47 tag), or ``institution``, ``period``, ``date`` by key.
    timeout : float, default 120
        Seconds pandoc may take.

    Returns
    -------
    Path
        ``target``: the cover (title, subtitle, fields, then a page break), the report with its
        tables as Word tables and its figures embedded, page numbers in the footer, the
        document's language set, and the disclosure layer's marks kept for the output check
        (:func:`evaluation.disclosure.document_files.write_marks`).

    Raises
    ------
    OutputError
        pandoc is missing, fails, takes longer than ``timeout``, or ``target`` cannot be written.
    ParameterError
        ``cover`` holds an unknown key or a value that is not text.
    """
    target = Path(target)
    what = f"the Word file {target.name}"
    pandoc = program("pandoc", what)
    markup = _read(html_path, target, what)
    page = _cover(cover, markup, Path(html_path).stem, "write_docx")
    with tempfile.TemporaryDirectory(prefix="ipeval-docx-") as work:
        folder = Path(work)
        try:
            reference = write_reference_doc(folder / "reference.docx", pandoc=pandoc,
                                            timeout=timeout)
        except (subprocess.SubprocessError, OSError) as exc:
            raise OutputError(f"Cannot write {what}: pandoc could not give its default "
                              f"reference document ({exc}).") from None
        source, converted = folder / "report.html", folder / "report.docx"
        cleaned, label = word_html(markup, page)         # its <html lang> is Word's language
        source.write_text(cleaned, encoding="utf-8")
        _run([pandoc, "--quiet", "--from", "html", "--to", "docx", "--reference-doc",
              str(reference), "--output", str(converted), str(source)],
             cwd=folder, timeout=timeout, what=what)
        document = docx.Document(str(converted))
        _finish_docx(document, page, label, document_marks(markup))
        try:
            document.save(str(target))
        except OSError as exc:
            raise OutputError(f"Cannot write {what}: {exc.strerror or exc}.") from None
    return target


@validate_params({**_PARAMS, "browser": [InstanceOf(Browser, name="a Chromium from "
                                                                 "launch_chromium()"), None]})
def write_pdf(html_path, target, *, cover: dict, timeout: float = TIMEOUT,
              browser=None) -> Path:
    """The report ``html_path`` printed as a PDF ``target`` on A4, behind a cover page.

    Parameters are those of :func:`write_docx`, and ``browser``: a Chromium started by
    :func:`launch_chromium`, for many reports in a row (default: one is started for this one).

    Returns
    -------
    Path
        ``target``: the cover, then the report as the HTML shows it (no table row and no figure
        cut across pages), page numbers in the footer, an internal run's label at the top of
        every page.

    Raises
    ------
    OutputError
        Chromium or Playwright is missing, printing fails or takes longer than ``timeout``.
    ParameterError
        As for :func:`write_docx`.
    """
    target = Path(target)
    what = f"the PDF {target.name}"
    if browser is None:
        program("chromium", what)
    markup = _read(html_path, target, what)
    page = _cover(cover, markup, Path(html_path).stem, "write_pdf")
    printable, label = print_html(markup, page)
    with tempfile.TemporaryDirectory(prefix="ipeval-pdf-") as work:
        source = Path(work) / "report.html"
        source.write_text(printable, encoding="utf-8")
        job = (source, target, page, label, timeout, what)
        if browser is not None:
            _print(browser, *job)
        elif _in_event_loop():      # a notebook's kernel: Playwright's sync API needs a thread
            with ThreadPoolExecutor(1) as pool:
                pool.submit(_print_launched, *job).result()
        else:
            _print_launched(*job)
    return target


@contextmanager
def launch_chromium(*, timeout: float = TIMEOUT):
    """Debian's Chromium, headless, driven by Playwright (it downloads no browser of its own):
    ``with launch_chromium() as browser: write_pdf(..., browser=browser)``."""
    executable = program("chromium", "a PDF")
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                                 timeout=timeout * 1000)
        except PlaywrightError as exc:
            raise OutputError(f"Cannot write a PDF: Chromium ({executable}) did not start: "
                              f"{_first_line(exc)}") from None
        try:
            yield browser
        finally:
            browser.close()


# -- the cover and the Word file's finish -------------------------------------------------------
def _cover(cover: dict, markup: str, name: str, func: str) -> dict:
    """``cover`` checked: {"title", "subtitle", "fields": [(label, value)], "language"}."""
    unknown = sorted(set(cover) - COVER_KEYS, key=str)
    if unknown:
        raise ParameterError(f"{func}: parameter 'cover' has the unknown key(s) "
                             f"{', '.join(map(repr, unknown))}; expected some of "
                             f"{', '.join(sorted(COVER_KEYS))}.")
    fields = [(label, cover[key]) for key, label in FALLBACK_LABELS.items() if key in cover]
    given = cover.get("fields") or []
    fields += list(given.items()) if isinstance(given, dict) else list(given)
    texts = [cover.get("title"), cover.get("subtitle"), cover.get("language")]
    if not all(isinstance(t, (str, type(None))) for t in texts) or not all(
            isinstance(pair, (tuple, list)) and len(pair) == 2
            and all(isinstance(v, str) for v in pair) for pair in fields):
        raise ParameterError(f"{func}: parameter 'cover' holds {cover!r}; expected texts: "
                             f"title, subtitle, language, and fields as (label, value) pairs.")
    return {"title": cover.get("title") or first_heading(markup) or name,
            "subtitle": cover.get("subtitle") or "", "fields": [tuple(p) for p in fields],
            "language": _language_tag(cover.get("language"), func)}


def _language_tag(code: str | None, func: str) -> str:
    """``nb`` → ``nb-NO``: the tag Word and Chromium know a language by."""
    code = (code or "en").strip()
    tag = LANGUAGES.get(code.lower(), code).replace("_", "-")
    if not _LANGUAGE_TAG.match(tag):
        raise ParameterError(f"{func}: parameter 'cover' has language {code!r}; expected one "
                             f"of {', '.join(sorted(LANGUAGES))} or a language tag (nb-NO).")
    return tag


def _finish_docx(document, page: dict, label: str, marks: dict) -> None:
    """What pandoc does not write: the page break after the cover, images described by their
    alternative text (pandoc repeats the whole data: URI there), the language and title of
    the file, an internal run's label on every page, and the disclosure layer's marks."""
    cover_styles = set(COVER_STYLES.values())
    paragraphs = iter(document.paragraphs)
    last = following = None
    for paragraph in paragraphs:
        if paragraph.style is None or paragraph.style.name not in cover_styles:
            following = paragraph
            break
        last = paragraph
    after = last._p.getnext() if last is not None else None
    while after is not None and after.tag in _SKIPPED:       # pandoc's heading bookmarks
        after = after.getnext()
    if following is not None and after is not None and following._p is after:
        following.paragraph_format.page_break_before = True
    elif last is not None:          # a table right after the cover
        last.add_run().add_break(WD_BREAK.PAGE)
    for picture in document.element.body.iter(qn("pic:cNvPr")):
        if (picture.get("descr") or "").startswith("data:"):
            shape = picture.getparent()
            while shape is not None and shape.tag != qn("wp:inline") and \
                    shape.tag != qn("wp:anchor"):
                shape = shape.getparent()
            described = shape.find(qn("wp:docPr")) if shape is not None else None
            picture.set("descr", described.get("descr", "") if described is not None else "")
    core = document.core_properties
    core.title, core.language = page["title"], page["language"]
    theme = document.settings.element.find(qn("w:themeFontLang"))
    if theme is not None:
        theme.set(qn("w:val"), page["language"])
    if label:
        for section in document.sections:
            header = section.header
            header.is_linked_to_previous = False
            run = header.paragraphs[0].add_run(label)
            run.bold = True
    write_marks(document, marks)


# -- PDF -----------------------------------------------------------------------------------------
def _print_launched(source, target, page, label, timeout, what) -> None:
    with launch_chromium(timeout=timeout) as browser:
        _print(browser, source, target, page, label, timeout, what)


def _print(browser, source: Path, target: Path, page: dict, label: str, timeout: float,
           what: str) -> None:
    url = source.resolve().as_uri()
    context = browser.new_context(java_script_enabled=False, service_workers="block")
    context.set_default_timeout(timeout * 1000)
    # Only the report's own file: its images are data: URIs, which are not requests.
    context.route("**/*", lambda route: route.continue_() if route.request.url == url
                  else route.abort())
    header = (f'<div style="{_SMALL} text-align: center; font-weight: 700; color: #8e1b1b">'
              f'{html.escape(label)}</div>') if label else "<span></span>"
    footer = (f'<div style="{_SMALL} display: flex; justify-content: space-between; '
              f'color: #555"><span>{html.escape(page["title"])}</span><span>'
              f'<span class="pageNumber"></span> / <span class="totalPages"></span></span></div>')
    try:
        tab = context.new_page()
        tab.goto(url, wait_until="load", timeout=timeout * 1000)
        tab.pdf(path=str(target), format="A4", margin=_MARGINS, print_background=True,
                display_header_footer=True, header_template=header, footer_template=footer)
    except PlaywrightError as exc:
        raise OutputError(f"Cannot write {what}: Chromium failed to print it: "
                          f"{_first_line(exc)}") from None
    finally:
        context.close()


# -- running the tools ---------------------------------------------------------------------------
def _run(command: list[str], *, cwd: Path, timeout: float, what: str) -> None:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, timeout=timeout,
                              check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise OutputError(f"Cannot write {what}: pandoc took longer than {timeout:g} s.") \
            from None
    if done.returncode != 0:
        message = _first_line(done.stderr.decode("utf-8", errors="replace")) or \
            f"exit code {done.returncode}"
        raise OutputError(f"Cannot write {what}: pandoc failed: {message}")


def _read(html_path, target: Path, what: str) -> str:
    """The HTML report, once the folder of ``target`` is known to be there."""
    if not target.parent.is_dir():
        raise OutputError(f"Cannot write {what}: the folder {target.parent} does not exist.")
    try:
        return Path(html_path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OutputError(f"Cannot write {what}: the HTML report {html_path} cannot be read "
                          f"({getattr(exc, 'strerror', None) or exc}).") from None


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _first_line(error) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else ""
