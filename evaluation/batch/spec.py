"""A batch file and the runs it expands to (docs/batches.md).

```yaml
notebook: ip_evaluation.ipynb            # paths are relative to the batch file
output: ../reports/batch
parameters: {study: ../data_synthetic/study.yaml, outcome: [goal_retention, daily_chaos]}
grid: {institution: [Lassonløkken, Karlsborg, all]}
timeout_s: 600
retries: 1
```

Every run's parameters are checked against the notebook's ``parameters`` cell here, before
anything runs: papermill would only warn about an unknown name (papermill #818).
"""
from __future__ import annotations

import itertools
import os
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from evaluation.errors import ManifestError, ParameterError
from evaluation.report import coerce_parameters, notebook_parameters
from evaluation.report.stamp import input_fingerprint, run_key
from evaluation.constraints import StrictYAMLLoader, check_keys

KEYS = {"notebook", "output", "parameters", "grid", "timeout_s", "retries", "title", "key",
        "compare_by", "slides"}
# Parameters that name files: written relative to the batch file, passed relative to the
# folder the batch runs in (the kernels' working directory), so executed notebooks show no
# absolute path of this machine.
PATH_PARAMETERS = {"study", "output_dir"}
ALL_INSTITUTIONS = {"all", "alle"}
FOLDER_CHARS = {"æ": "ae", "ø": "o", "å": "a", "Æ": "AE", "Ø": "O", "Å": "A"}


@dataclass
class Run:
    """One notebook execution of a batch; ``key`` hashes notebook, parameters and input data."""
    run_id: str
    key: str
    label: str
    folder: str                     # relative to the batch's output folder
    notebook: str                   # as the kernel's working directory sees it
    parameters: dict
    grid: dict                      # the varied parameters, as written in the batch file
    cwd: str
    timeout_s: float | None
    output: str                     # absolute: the batch's output folder
    slides: bool = False
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class BatchSpec:
    path: Path
    notebook: Path
    output: Path
    parameters: dict
    grid: dict
    timeout_s: float | None = 600.0
    retries: int = 1
    title: str = ""
    key: str | None = None
    compare_by: str | None = None
    slides: bool = False
    runs: list[Run] = field(default_factory=list)


def load_batch(path, *, cwd=None) -> BatchSpec:
    """Read a batch file, check every run's parameters, and expand the runs.

    Raises ManifestError (exit 2) for a malformed file and ParameterError for a parameter the
    notebook does not declare or a value of the wrong type, naming the run.
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"Batch file not found: {path}.")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=StrictYAMLLoader)  # noqa: S506
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: not valid YAML ({exc}).") from None
    if not isinstance(raw, dict):
        raise ManifestError(f"{path}: a batch file is a mapping with notebook, output, "
                            f"parameters and grid; got {type(raw).__name__}.")
    check_keys(raw, KEYS, str(path))
    for required in ("notebook", "output"):
        if not isinstance(raw.get(required), str) or not raw[required]:
            raise ManifestError(f"{path}: `{required}` is required (a path relative to the "
                                f"batch file).")
    base = path.resolve().parent
    cwd = Path(cwd or os.getcwd()).resolve()
    params, grid = raw.get("parameters") or {}, raw.get("grid") or {}
    for key, value in (("parameters", params), ("grid", grid)):
        if not isinstance(value, dict):
            raise ManifestError(f"{path}: `{key}` must map parameter names to values; got "
                                f"{value!r}.")
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ManifestError(f"{path}: grid parameter {name!r} must be a non-empty list of "
                                f"values; got {values!r}.")
    both = sorted(set(params) & set(grid))
    if both:
        raise ManifestError(f"{path}: {', '.join(both)} given both under `parameters` and "
                            f"`grid`; give each parameter once.")
    spec = BatchSpec(path=path, notebook=Path(os.path.normpath(base / raw["notebook"])),
                     output=Path(os.path.normpath(base / raw["output"])),
                     parameters=params, grid=grid,
                     timeout_s=_positive(raw.get("timeout_s", 600), "timeout_s", path),
                     retries=_count(raw.get("retries", 1), "retries", path),
                     title=str(raw.get("title") or path.stem), key=raw.get("key"),
                     compare_by=raw.get("compare_by"), slides=bool(raw.get("slides", False)))
    spec.runs = expand_runs(spec, cwd)
    return spec


def expand_runs(spec: BatchSpec, cwd: Path) -> list[Run]:
    """The cross product of the grid and of list values given for parameters that are not
    lists themselves; every run's parameters checked against the notebook."""
    declared = notebook_parameters(spec.notebook)
    varied = {name: values for name, values in spec.parameters.items()
              if isinstance(values, list) and declared.get(name, {}).get("type") != "list"}
    varied.update(spec.grid)
    fixed = {k: v for k, v in spec.parameters.items() if k not in varied}
    notebook_bytes = spec.notebook.read_bytes()
    fingerprints: dict = {}
    runs, seen = [], set()
    names = list(varied)
    for combo in itertools.product(*(varied[n] for n in names)) if names else [()]:
        written = dict(zip(names, combo))
        given = {**fixed, **written}
        label = " · ".join(f"{k}={_text(v)}" for k, v in written.items()) or "defaults"
        params = {k: _as_passed(k, v, spec.path.resolve().parent, cwd) for k, v in given.items()}
        try:
            params = coerce_parameters(spec.notebook, params)
        except ParameterError as exc:
            raise ParameterError(f"{spec.path}, run {label}: {exc}") from None
        if "output_dir" in declared and "output_dir" not in params:
            params["output_dir"] = None      # set to the run's folder below, once it is known
        study = params.get("study", declared.get("study", {}).get("default"))
        if study not in fingerprints:
            fingerprints[study] = input_fingerprint(study, cwd)
        data = fingerprints[study]
        key = run_key(notebook_bytes, {k: v for k, v in params.items() if k != "output_dir"}, data)
        if key in seen:
            raise ManifestError(f"{spec.path}: run {label} repeats another run's parameters.")
        seen.add(key)
        folder = f"runs/{_slug(written) or 'run'}-{key[:8]}"
        if "output_dir" in params and params["output_dir"] is None:
            params["output_dir"] = os.path.relpath(spec.output.resolve() / folder, cwd)
        runs.append(Run(run_id=key[:12], key=key, label=label, folder=folder,
                        notebook=os.path.relpath(spec.notebook.resolve(), cwd), parameters=params,
                        grid={k: _plain(v) for k, v in written.items()}, cwd=str(cwd),
                        timeout_s=spec.timeout_s, output=str(spec.output.resolve()),
                        slides=spec.slides))
    return runs


def _as_passed(name: str, value, base: Path, cwd: Path):
    if name == "institution" and isinstance(value, str) and value.strip().lower() in ALL_INSTITUTIONS:
        return None
    if name in PATH_PARAMETERS and isinstance(value, str) and value:
        return os.path.relpath(base / value, cwd)     # an absolute path stays as it is in base / value
    return value


def _slug(written: dict) -> str:
    parts = []
    for name, value in written.items():
        text = "".join(FOLDER_CHARS.get(c, c) for c in f"{name}-{_text(value)}")
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        parts.append(re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower())
    return "_".join(parts)[:80]


def _text(value) -> str:
    if isinstance(value, list):
        return "+".join(map(str, value))
    return "all" if value is None else str(value)


def _plain(value):
    return value if isinstance(value, (str, int, float, bool, list, type(None))) else str(value)


def _positive(value, key: str, path: Path) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ManifestError(f"{path}: `{key}` must be a positive number of seconds; got {value!r}.")
    return float(value)


def _count(value, key: str, path: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ManifestError(f"{path}: `{key}` must be a whole number ≥ 0; got {value!r}.")
    return value
