"""One way to check a parameter, in the manner of scikit-learn's parameter validation.

A public function declares what each parameter may be; the check runs at the boundary and every
failure reads the same: ``func: parameter 'name' is VALUE; expected WHAT.`` (exit 2, as
:class:`~evaluation.errors.ParameterError`). The same module holds the other boundary checks the
package shares: a DataFrame with the columns a function needs, the keys of a YAML mapping, and a
YAML loader that refuses a key given twice.

>>> @validate_params({"confidence": [Interval(0, 1, closed="neither")],
...                   "method": [Options({"holm", "bonferroni"})]})
... def adjust(p, *, confidence=0.95, method="holm"):
...     return method
>>> adjust([0.1], method="holm")
'holm'
>>> adjust([0.1], confidence=95)
Traceback (most recent call last):
...
evaluation.errors.ParameterError: adjust: parameter 'confidence' is 95; expected a number in (0, 1).

Names are one per idea across the package: ``confidence=`` for a CI level (0.95), ``n_boot`` for
bootstrap replicates, ``seed`` for a random seed, ``cluster`` for the column whose units share
errors, ``by`` for the column to group a table by.
"""
from __future__ import annotations

import functools
import inspect
import numbers
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import pandas as pd
import yaml

from evaluation.errors import ManifestError, ParameterError


class Constraint:
    """What a parameter may be: ``holds(value)`` and a phrase for the message."""

    def holds(self, value) -> bool:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def __str__(self) -> str:  # pragma: no cover
        raise NotImplementedError


class Interval(Constraint):
    """A real (or, with ``integral=True``, a whole) number between ``low`` and ``high``
    (``None`` for no bound); ``closed`` is ``both``, ``left``, ``right`` or ``neither``."""

    def __init__(self, low=None, high=None, *, closed: str = "both", integral: bool = False):
        self.low, self.high, self.closed, self.integral = low, high, closed, integral

    def holds(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        if self.integral and not float(value).is_integer():
            return False
        if not np.isfinite(value):
            return False
        left = self.closed in ("both", "left")
        right = self.closed in ("both", "right")
        if self.low is not None and (value < self.low or (value == self.low and not left)):
            return False
        if self.high is not None and (value > self.high or (value == self.high and not right)):
            return False
        return True

    def __str__(self) -> str:
        kind = "a whole number" if self.integral else "a number"
        if self.low is None and self.high is None:
            return kind
        if self.high is None:
            return f"{kind} {'≥' if self.closed in ('both', 'left') else '>'} {self.low}"
        if self.low is None:
            return f"{kind} {'≤' if self.closed in ('both', 'right') else '<'} {self.high}"
        lb = "[" if self.closed in ("both", "left") else "("
        rb = "]" if self.closed in ("both", "right") else ")"
        return f"{kind} in {lb}{self.low}, {self.high}{rb}"


class Options(Constraint):
    """One of a fixed set of values (case as given)."""

    def __init__(self, values: Iterable):
        self.values = frozenset(values)

    def holds(self, value) -> bool:
        try:
            return value in self.values
        except TypeError:
            return False

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in sorted(self.values, key=str))


class InstanceOf(Constraint):
    """An instance of one of ``types`` (``bool`` is not an int here)."""

    def __init__(self, *types: type, name: str | None = None):
        self.types, self.name = types, name

    def holds(self, value) -> bool:
        if isinstance(value, bool) and bool not in self.types:
            return False
        return isinstance(value, self.types)

    def __str__(self) -> str:
        return self.name or " or ".join(f"a {t.__name__}" for t in self.types)


class Columns(Constraint):
    """A column name, or a list of column names (strings)."""

    def __init__(self, *, many: bool = True):
        self.many = many

    def holds(self, value) -> bool:
        if isinstance(value, str):
            return True
        return self.many and isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)

    def __str__(self) -> str:
        return "a column name or a list of them" if self.many else "a column name"


def _as_constraint(spec) -> Constraint | None:
    if spec is None:
        return None
    if isinstance(spec, Constraint):
        return spec
    if isinstance(spec, type):
        return InstanceOf(spec)
    if spec == "boolean":
        return InstanceOf(bool, np.bool_, name="True or False")
    if spec == "frame":
        return InstanceOf(pd.DataFrame, name="a DataFrame")
    if spec == "callable":
        return _Callable()
    raise TypeError(f"unknown constraint {spec!r}")


class _Callable(Constraint):
    def holds(self, value) -> bool:
        return callable(value)

    def __str__(self) -> str:
        return "a function"


def check_param(func: str, name: str, value, constraints) -> None:
    """Raise the package's one message unless ``value`` meets one of ``constraints`` (a list:
    constraint objects, types, ``"boolean"``, ``"frame"``, ``"callable"``, or ``None`` to allow
    ``None``)."""
    allow_none = any(c is None for c in constraints)
    if value is None and allow_none:
        return
    checks = [_as_constraint(c) for c in constraints if c is not None]
    if any(c.holds(value) for c in checks):
        return
    wanted = " or ".join(str(c) for c in checks) + (" or None" if allow_none else "")
    raise ParameterError(f"{func}: parameter {name!r} is {_shown(value)}; expected {wanted}.")


def validate_params(constraints: Mapping[str, list]) -> Callable:
    """Decorate a function so its parameters are checked against ``constraints`` when called."""

    def decorate(function):
        signature = inspect.signature(function)
        unknown = set(constraints) - set(signature.parameters)
        if unknown:
            raise TypeError(f"{function.__name__}: constraints for unknown parameters {unknown}")

        @functools.wraps(function)
        def checked(*args, **kwargs):
            bound = signature.bind_partial(*args, **kwargs)
            bound.apply_defaults()
            for name, allowed in constraints.items():
                if name in bound.arguments:
                    check_param(function.__name__, name, bound.arguments[name], allowed)
            return function(*args, **kwargs)

        checked.__signature__ = signature
        return checked

    return decorate


def require_frame(data, columns, func: str, name: str = "data", hint: str = "") -> None:
    """Raise ParameterError unless ``data`` is a DataFrame holding every one of ``columns``
    (``None`` entries are skipped: optional columns not asked for).

    Examples
    --------
    >>> require_frame(pd.DataFrame({"a": [1]}), ["a"], "example")
    >>> require_frame(pd.DataFrame({"a": [1]}), ["b"], "example")
    Traceback (most recent call last):
    ...
    evaluation.errors.ParameterError: example: data has no column(s) ['b']; it has ['a'].
    """
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(f"{func}: {name} must be a DataFrame, got {type(data).__name__}.")
    missing = [c for c in columns if c is not None and c not in data.columns]
    if missing:
        raise ParameterError(f"{func}: {name} has no column(s) {missing}; "
                             + (hint or f"it has {list(data.columns)[:15]}."))


def name_list(value, name: str, func: str) -> list:
    """A column name or a list of them as a list (``None``: none); anything else is an error."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    try:
        return list(value)
    except TypeError:
        raise ParameterError(f"{func}: {name} must be a list of column names, got {value!r}.") from None



def check_keys(mapping: dict, allowed: set, where: str) -> None:
    """An unknown key is an error naming it and the keys allowed (manifest, instruments, batch
    files)."""
    unknown = sorted(set(mapping) - allowed, key=str)
    if unknown:
        raise ManifestError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}. "
                            f"Allowed here: {', '.join(sorted(allowed))}.")


class StrictYAMLLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping: plain YAML keeps the last
    one, so a second ``sources:`` would silently replace the first."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice", mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def shown_value(value) -> str:
    """A data value for a message: 2 rather than np.float64(2.0), 'yes' with quotes."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return repr(value)


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
