"""The house's import rules, read from the code itself (issue 13, docs/architecture.md).

Given every module of ``gateway/``, ``drivers/`` and ``rules/`` parsed with :mod:`ast` (nothing is
imported or run), then:

- ``rules/`` imports only ``gateway.model`` of ours (the functional core);
- ``drivers/`` imports neither ``gateway`` (but ``gateway.model``) nor ``rules``;
- ``gateway/sinks`` and ``gateway/web`` import neither ``drivers`` nor ``rules`` (they carry data
  and show it; the builders hand them what they need);
- no runtime import cycle among our modules (imports under ``if TYPE_CHECKING:`` are not run);
- no import of our own modules inside a function, except where a command loads lazily
  (:data:`LAZY_LOADERS`): an import inside a function is how a cycle hides;
- no module over 500 lines.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "drivers", "rules")
MAX_LINES = 500

#: Modules that may import our modules inside functions: the command line loads each command (and
#: what it needs) only when that command runs, so ``village-gateway --help`` or ``check-config``
#: stay quick on a Pi; the daemon loads the subsystems' builders only once the relays are claimed;
#: ``gateway.doctor`` is the body of ``village-gateway doctor`` (it loads the configuration only
#: once its own checks of the machine have run); the configuration's simulation and zone-prior
#: sections load the building models (``drivers.sim``, which imports nothing of the shell) only for a
#: configuration that has simulated zones or archetype priors, and the public page loads the
#: astronomical clock (``rules.lighting``) only for façade lighting, so a village's daemon does not
#: carry them (``tests/unit/test_lean_imports.py``).
LAZY_LOADERS = frozenset(
    {
        "gateway.cli",
        "gateway.daemon",
        "gateway.doctor",
        "gateway.schema.simulation",
        "gateway.schema.zone_prior",
        "gateway.report.public",
    }
) | {
    f"gateway.commands.{p.stem}" for p in (ROOT / "gateway" / "commands").glob("*.py")
}

#: What control must not import: the doors reach control, never the other way round.
DOORS = ("gateway.web", "gateway.services", "gateway.sinks.mqtt", "gateway.daemon")


@dataclass(frozen=True)
class Import:
    """One import of ours: who imports what, where."""

    module: str  # the importing module
    target: str  # the imported module (the most precise one that exists)
    line: int
    runtime: bool  # False under ``if TYPE_CHECKING:``
    in_function: bool


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def our_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


MODULES = our_modules()


def _resolve(name: str) -> str:
    """``name`` or its longest prefix that is one of our modules."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return name


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, *, runtime: bool, in_function: bool) -> Iterator[tuple[ast.AST, bool, bool]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.body:
                yield stmt, False, in_function
                yield from _walk(stmt, runtime=False, in_function=in_function)
            for stmt in child.orelse:
                yield stmt, runtime, in_function
                yield from _walk(stmt, runtime=runtime, in_function=in_function)
            continue
        inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        yield child, runtime, in_function
        yield from _walk(child, runtime=runtime, in_function=inner)


def imports_of(module: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []
    for node, runtime, in_function in _walk(tree, runtime=True, in_function=False):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from package import submodule`` imports the submodule
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        for name in names:
            if name.split(".")[0] in PACKAGES:
                found.append(Import(module, _resolve(name), node.lineno, runtime, in_function))
    return found


IMPORTS = [imp for module, path in MODULES.items() for imp in imports_of(module, path)]


def _under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _where(imp: Import) -> str:
    return f"{MODULES[imp.module].relative_to(ROOT)}:{imp.line} imports {imp.target}"


def test_rules_import_only_the_shared_model_of_ours():
    bad = [
        _where(i)
        for i in IMPORTS
        if _under(i.module, "rules") and not (_under(i.target, "rules") or i.target == "gateway.model")
    ]
    assert bad == []


def test_drivers_import_neither_the_shell_nor_the_rules():
    bad = [
        _where(i)
        for i in IMPORTS
        if _under(i.module, "drivers")
        and (_under(i.target, "rules") or (_under(i.target, "gateway") and i.target != "gateway.model"))
    ]
    assert bad == []


@pytest.mark.parametrize("package", ["gateway.sinks", "gateway.web"])
def test_sinks_and_web_import_neither_drivers_nor_rules(package):
    bad = [
        _where(i)
        for i in IMPORTS
        if _under(i.module, package) and (_under(i.target, "drivers") or _under(i.target, "rules"))
    ]
    assert bad == []


def test_control_is_reached_by_the_doors_and_never_reaches_them():
    """Control imports neither the page, nor the builders, nor the sinks; the sinks do not import control."""
    bad = [
        _where(i)
        for i in IMPORTS
        if (_under(i.module, "gateway.control") and any(_under(i.target, p) for p in DOORS))
        or (_under(i.module, "gateway.sinks") and _under(i.target, "gateway.control"))
    ]
    assert bad == []


def test_no_runtime_import_cycle():
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for i in IMPORTS:
        if i.runtime and not i.in_function and i.target != i.module:
            graph[i.module].add(i.target)
    cycles = [sorted(c) for c in _strongly_connected(graph) if len(c) > 1]
    assert cycles == []


def test_our_modules_are_imported_at_the_top_except_by_lazy_commands():
    bad = [_where(i) for i in IMPORTS if i.in_function and i.module not in LAZY_LOADERS]
    assert bad == []


def test_no_module_over_500_lines():
    sizes = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in MODULES.items()}
    over = {m: n for m, n in sizes.items() if n > MAX_LINES}
    assert over == {}


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (the import graph is deep)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root, targets in graph.items():
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(targets)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                out.append(component)
    return out
