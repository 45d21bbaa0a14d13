"""User-facing errors, one place (as papermill's ``exceptions`` module).

Every class carries the CLI exit code it maps to (docs/cli.md, "Exit codes"):
2 for bad usage or unusable input, 1 for work that finished but found problems.
Messages are one paragraph naming what and where; the CLI prints them without a traceback.
"""
from __future__ import annotations


class IpevalError(Exception):
    """Base class: a problem the user can act on, with a readable message."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ManifestError(IpevalError):
    """``study.yaml`` is missing, malformed, or names something that does not exist."""


class InputFileError(IpevalError):
    """A data file cannot be read as a table."""

    def __init__(self, path, problem: str, *, row=None, column=None, value=None,
                 expected: str | None = None):
        parts = [f"{path}"]
        if row is not None:
            parts.append(f"row {row}")
        if column is not None:
            parts.append(f"column {column!r}")
        if value is not None:
            parts.append(f"value {value!r}")
        where = ", ".join(parts)
        message = f"{where}: {problem}"
        if expected:
            message += f" Expected: {expected}."
        super().__init__(message)
        self.path, self.row, self.column, self.value = path, row, column, value


class ParameterError(IpevalError):
    """A notebook or command parameter is unknown or has the wrong type or value."""


class OutputError(IpevalError):
    """An output folder or file cannot be written."""


class PrivacyError(IpevalError):
    """The study asks for pseudonymisation and it cannot be done safely."""


class DisclosureFindings(IpevalError):
    """An output holds something that must not be shared (the checker's report says what)."""

    exit_code = 1


class NotebookFailed(IpevalError):
    """A notebook ran but a cell raised; the executed copy is kept for inspection."""

    exit_code = 1

    def __init__(self, message: str, executed_path=None):
        super().__init__(message)
        self.executed_path = executed_path


class ContractError(IpevalError):
    """A result table does not follow the result contract (``evaluation.estimates``)."""
