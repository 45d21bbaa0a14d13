"""The package's arrows go one way: read from ``evaluation/`` with ``ast``, not imported.

The layers, lowest first (a module may import from its own layer's subpackage and from lower
layers, never upward):

    foundation   errors, version, constraints, estimates (the result contract); these may
                 import one another
    instruments  definitions, scoring, psychometrics
    intake       manifest, readers, sources, validation, pseudonyms, national IDs, de-identification
    synthetic    the generator of studies with known truth (uses no estimator)
    study        the Study object
    disclosure   rules, safe tables and figures, the output checker
    describe     overview, questionnaires
    association  the headline estimators
    analyses     feedback, coding, comparison (they may use association's estimators)
    report       parameters, kernels, a run, HTML, slides, records
    batch        batches, their store and pages (no statistics)
    cli          the command line
    face         evaluation/__init__.py, __main__.py
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "evaluation"

LAYERS = [
    {"errors", "version", "constraints", "estimates"},
    {"language"},
    {"instruments"},
    {"intake"},
    {"synthetic"},
    {"study"},
    {"disclosure"},
    {"describe"},
    {"association"},
    {"feedback", "coding", "comparison"},
    {"report"},
    {"batch"},
    {"release"},
    {"cli"},
    {"__init__", "__main__"},
]
LAYER_OF = {part: i for i, names in enumerate(LAYERS) for part in names}
# Only the command line imports inside functions: `ipeval --help` must not pay for every
# analysis library; everywhere else an import inside a function hides an arrow.
LAZY_IMPORTS_ALLOWED = {"cli"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        found["evaluation." + ".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(module: str, path: Path):
    """(target module, names imported, line, inside a function) for every import of evaluation."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    in_function = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            in_function.update(id(n) for n in ast.walk(node) if n is not node)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("evaluation"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield (sub if sub in MODULES else target), alias.name, node.lineno, id(node) in in_function
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("evaluation"):
                    yield alias.name, None, node.lineno, id(node) in in_function


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


EDGES = [(m, *imp) for m, p in MODULES.items() for imp in _imports(m, p)]


def test_every_module_is_in_a_layer():
    assert {_part(m) for m in MODULES} <= set(LAYER_OF), "add the new subpackage to LAYERS"


def test_arrows_point_down_the_layers():
    wrong = []
    for source, target, _, line, _ in EDGES:
        src, dst = _part(source), _part(target)
        if target in {"evaluation", "evaluation.__init__"}:
            dst = "__init__"
        allowed = src == dst or LAYER_OF[dst] < LAYER_OF[src] or LAYER_OF[src] == LAYER_OF[dst] == 0
        if not allowed:
            wrong.append(f"{MODULES[source].relative_to(PACKAGE.parent)}:{line} {source} -> {target}")
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_no_import_cycles():
    graph: dict[str, set] = {}
    for source, target, _, _, _ in EDGES:
        if target != source and target in MODULES:
            graph.setdefault(source, set()).add(target)
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    # A package's __init__ importing its own modules is not a cycle of the code.
    real = [c for c in cycles if not all(
        n == c.split(" -> ")[0] or n.startswith(c.split(" -> ")[0] + ".") for n in c.split(" -> "))]
    assert not real, "import cycles:\n" + "\n".join(real)


def test_no_private_name_is_imported_from_another_module():
    private = [f"{MODULES[s].relative_to(PACKAGE.parent)}:{line} {name} from {t}"
               for s, t, name, line, _ in EDGES
               if name and name.startswith("_") and not name.startswith("__") and t != s]
    assert not private, "private names used across modules:\n" + "\n".join(private)


def test_imports_inside_functions_only_in_the_command_line():
    lazy = [f"{MODULES[s].relative_to(PACKAGE.parent)}:{line} {t}"
            for s, t, _, line, inside in EDGES if inside and _part(s) not in LAZY_IMPORTS_ALLOWED]
    assert not lazy, "imports of evaluation inside functions:\n" + "\n".join(lazy)


@pytest.mark.parametrize("package", sorted({_part(m) for m in MODULES if m.count(".") >= 2}))
def test_every_subpackage_has_a_face(package):
    init = PACKAGE / package / "__init__.py"
    tree = ast.parse(init.read_text(encoding="utf-8"))
    exported = [n for n in ast.walk(tree) if isinstance(n, ast.Assign)
                and any(getattr(t, "id", None) == "__all__" for t in n.targets)]
    assert exported, f"evaluation/{package}/__init__.py exports nothing (__all__)"


def test_the_analyses_do_not_read_the_batch_store_or_print():
    """Analyses take data frames and return them: no batch store, no IPython display."""
    analysis = {"describe", "association", "feedback", "coding", "comparison"}
    found = []
    for module, path in MODULES.items():
        if _part(module) in analysis:
            text = path.read_text(encoding="utf-8")
            for bad in ("IPython", "duckdb", "evaluation.batch"):
                if bad in text:
                    found.append(f"{path.relative_to(PACKAGE.parent)} uses {bad}")
    assert not found, "\n".join(found)
