"""pyproject.toml and environment.yml list the same dependencies; the command is installed."""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

import evaluation

ROOT = Path(__file__).resolve().parents[1]
CONDA_ONLY = {"python", "pip"}
_CONDA_SPEC = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*?)\s*$")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def _add(found: dict, name: str, spec: SpecifierSet, where: str) -> None:
    name = canonicalize_name(name)
    assert name not in found, f"{name} is listed twice in {where}"
    found[name] = spec


def pip_requirements() -> dict:
    """name -> SpecifierSet for the dependencies and every optional extra of pyproject.toml."""
    project = _pyproject()["project"]
    texts = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        texts += extra
    found: dict = {}
    for text in texts:
        req = Requirement(text)
        _add(found, req.name, req.specifier, "pyproject.toml")
    return found


def _conda_specifier(spec: str) -> SpecifierSet:
    """A conda version constraint as a PEP 440 specifier set."""
    spec = spec.replace(" ", "")
    if not spec:
        return SpecifierSet()
    if spec[0].isdigit():                       # "numpy 2.0" means exactly 2.0
        return SpecifierSet(f"=={spec}")
    if spec.startswith("=") and not spec.startswith("=="):   # conda fuzzy "=2.0" is 2.0.*
        return SpecifierSet(f"=={spec[1:]}.*")
    return SpecifierSet(spec)


def conda_requirements() -> dict:
    """name -> SpecifierSet for environment.yml, without python and pip themselves."""
    found: dict = {}
    for entry in _environment()["dependencies"]:
        if isinstance(entry, dict):             # a `pip:` section holds pip requirements
            for text in entry.get("pip", []):
                req = Requirement(text)
                _add(found, req.name, req.specifier, "environment.yml (pip section)")
            continue
        match = _CONDA_SPEC.match(str(entry))
        assert match, f"cannot parse environment.yml entry {entry!r}"
        name, spec = match.groups()
        if canonicalize_name(name) in CONDA_ONLY:
            continue
        _add(found, name, _conda_specifier(spec), "environment.yml")
    return found


def test_conda_spec_parsing():
    assert _conda_specifier(">=2.0") == SpecifierSet(">=2.0")
    assert _conda_specifier(" >= 1.2, <2") == SpecifierSet(">=1.2,<2")
    assert _conda_specifier("=1.3") == SpecifierSet("==1.3.*")
    assert _conda_specifier("") == SpecifierSet()


def test_environment_yml_matches_pyproject():
    pip, conda = pip_requirements(), conda_requirements()
    assert {"numpy", "pandas", "pytest", "hypothesis", "jupyterlab"} <= set(pip)
    only_pip = sorted(set(pip) - set(conda))
    only_conda = sorted(set(conda) - set(pip))
    assert not only_pip, f"in pyproject.toml but not in environment.yml: {only_pip}"
    assert not only_conda, f"in environment.yml but not in pyproject.toml: {only_conda}"
    differ = {n: (str(pip[n]), str(conda[n])) for n in pip if pip[n] != conda[n]}
    assert not differ, f"version specifiers differ (pyproject, environment.yml): {differ}"


def test_environment_python_matches_requires_python():
    entries = [str(e) for e in _environment()["dependencies"] if not isinstance(e, dict)]
    python = [e for e in entries if _CONDA_SPEC.match(e).group(1) == "python"]
    assert len(python) == 1
    spec = _conda_specifier(_CONDA_SPEC.match(python[0]).group(2))
    assert spec == SpecifierSet(_pyproject()["project"]["requires-python"])


def test_console_script_points_to_cli_main():
    assert _pyproject()["project"]["scripts"]["ipeval"] == "evaluation.cli:main"
    installed = [ep for ep in entry_points(group="console_scripts") if ep.name == "ipeval"]
    assert len(installed) == 1
    from evaluation.cli import main
    assert installed[0].load() is main


def test_version_is_the_project_version():
    assert evaluation.__version__ == _pyproject()["project"]["version"]


def test_python_m_evaluation_version(tmp_path):
    # Run from a folder outside the repository: the installed package must answer.
    proc = subprocess.run([sys.executable, "-m", "evaluation", "--version"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"ipeval {evaluation.__version__}"
