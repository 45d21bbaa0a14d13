"""A notebook's parameters: read from its ``parameters`` cell, and values given checked and typed.

papermill only warns about parameters the notebook does not declare (papermill #818) and passes
values through untyped; here an unknown name or a value of the wrong type stops the run before
a kernel starts.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

import papermill as pm

from evaluation.errors import InputFileError, ParameterError
from evaluation.intake.manifest import load_manifest
from evaluation.study import resolve_study_path

_NONE_WORDS = {"none", "null", "~"}
_TRUE_WORDS = {"true", "yes", "1"}
_FALSE_WORDS = {"false", "no", "0"}


def notebook_parameters(notebook) -> dict:
    """The ``parameters`` cell of a notebook: name -> {'default': ..., 'type': ...}."""
    notebook = Path(notebook)
    if not notebook.is_file():
        raise InputFileError(notebook, "notebook not found.")
    try:
        declared = pm.inspect_notebook(str(notebook))
    except Exception as exc:  # nbformat raises several kinds for a file that is not a notebook
        raise InputFileError(notebook, f"cannot read the notebook ({exc}).") from None
    out = {}
    for name, info in declared.items():
        # papermill gives the default as source text and a type only from annotations; the
        # type of the literal default is what the notebook's author meant.
        text = info.get("default")
        try:
            default = ast.literal_eval(text) if isinstance(text, str) else text
        except (ValueError, SyntaxError):
            default = text
        annotated = info.get("inferred_type_name")
        type_name = annotated if annotated and annotated != "None" else (
            "None" if default is None else type(default).__name__)
        out[name] = {"default": default, "type": type_name}
    return out


def coerce_parameters(notebook, given: dict) -> dict:
    """Check names against the notebook's ``parameters`` cell and convert text values (from the
    command line) to the declared default's type. Raises ParameterError naming the problem."""
    declared = notebook_parameters(notebook)
    if not declared and given:
        raise ParameterError(f"{notebook} has no cell tagged 'parameters', so it takes no "
                             f"parameters; got {', '.join(given)}.")
    unknown = [name for name in given if name not in declared]
    if unknown:
        raise ParameterError(
            f"Unknown parameter(s) {', '.join(map(repr, unknown))} for {notebook}. It declares: "
            + ", ".join(f"{n} ({d['type']}, default {d['default']})" for n, d in declared.items())
            + ".")
    return {name: _coerce(name, value, declared[name]["type"], notebook)
            for name, value in given.items()}


def _coerce(name: str, value, type_name: str, notebook) -> object:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.lower() in _NONE_WORDS and type_name in {"None", "str"}:
        return None
    if type_name == "None":
        # A parameter whose default is None says nothing about its type: a Python literal
        # (0.02, True, ["a", "b"]) is taken as that, anything else as text.
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
    try:
        if type_name == "int":
            return int(text)
        if type_name == "float":
            return float(text)
        if type_name == "bool":
            if text.lower() in _TRUE_WORDS | _FALSE_WORDS:
                return text.lower() in _TRUE_WORDS
            raise ValueError(text)
        if type_name in {"list", "dict"}:
            parsed = json.loads(text)
            if type(parsed).__name__ != type_name:
                raise ValueError(text)
            return parsed
    except (ValueError, json.JSONDecodeError):
        raise ParameterError(f"Parameter {name!r} of {notebook} expects {type_name} (as its "
                             f"default does); got {value!r}.") from None
    return text


def effective_study(notebook, params: dict):
    """The study a run uses: the ``study`` parameter given, else the notebook's default."""
    return params.get("study", notebook_parameters(notebook).get("study", {}).get("default"))


def check_study_parameter(notebook, params: dict) -> None:
    """Load the manifest the notebook will use before a kernel starts, so that a missing or
    malformed study.yaml or a missing source file is a usage error (exit 2) naming the file,
    not a failed cell."""
    study = effective_study(notebook, params)
    if isinstance(study, str) and study:
        load_manifest(resolve_study_path(study))


