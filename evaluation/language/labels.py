"""Labels of variables in each language, as instrument definitions and manifests write them.

A label is one text for every language, or one per language::

    labels: {nb: Kaos i hverdagen, nn: Kaos i kvardagen, en: Daily-life chaos}

>>> label_in(parse_label({"nb": "Kjønn", "en": "Sex"}, "study.yaml, labels.sex"), "nn")
'Kjønn'
"""
from __future__ import annotations

from evaluation.errors import ManifestError
from evaluation.language.catalogue import LANGUAGES, SOURCE

# Where a language has no label of its own, the nearest: nynorsk readers read bokmål.
FALLBACK = {"nn": ("nn", "nb", "en"), "nb": ("nb", "nn", "en"), "en": ("en", "nb", "nn")}


def parse_label(value, where: str) -> dict:
    """``{language: text}`` of a label as written, checked."""
    if isinstance(value, str):
        return {SOURCE: value}
    if not isinstance(value, dict) or not value or \
            not all(isinstance(v, str) and v.strip() for v in value.values()):
        raise ManifestError(f"{where} must be a text or a mapping of languages to texts, such "
                            f"as {{nb: Kjønn, en: Sex}}; got {value!r}.")
    unknown = sorted(set(map(str, value)) - set(LANGUAGES))
    if unknown:
        raise ManifestError(f"{where} names unknown language(s) {unknown}; known: "
                            f"{', '.join(sorted(LANGUAGES))}.")
    return {str(k): v.strip() for k, v in value.items()}


def label_in(label: dict | None, code: str, default: str | None = None) -> str | None:
    """The text of ``label`` in language ``code``, or the nearest language's, or ``default``."""
    for candidate in FALLBACK.get(code, (code,)):
        if label and candidate in label:
            return label[candidate]
    return default
