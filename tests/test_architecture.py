"""The shape of the code, as docs/architecture.md describes it: no import circle among the
product's modules, a lazy import only where a module-level one would close a circle, and no
module so long that it needs a reason it does not give."""

import ast
from pathlib import Path

import pytest

from backoffice.processes import ROOT

PACKAGES = ("backoffice", "mailings")
MAX_LINES = 300
# Modules whose imports inside functions are the rule, not a shortcut: an AppConfig's ready()
# runs once the models are loaded, and Celery tasks import the engine in their bodies (the
# styleguide's rule, so that the engine can import the tasks at module level to send them).
# The admin site is built while `mailings.admin` registers its pages on `admin.site` (a lazy
# object that imports backoffice.admin_site then): its own page's module comes later, in get_urls.
LAZY_BY_DESIGN = {"mailings.apps", "mailings.tasks", "backoffice.admin_site"}


def product_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def _resolve(importer: str, node: ast.ImportFrom | ast.Import, modules: dict[str, Path]) -> set[str]:
    """The product modules an import statement loads (a package's __init__ included)."""
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = importer.split(".")
            is_package = modules[importer].name == "__init__.py"
            package = package if is_package else package[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, base] if base else package)
        targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
    found = set()
    for target in targets:
        parts = target.split(".")
        for end in range(len(parts), 0, -1):
            name = ".".join(parts[:end])
            if name in modules:
                found.add(name)
                break
    found.discard(importer)
    return found


def imports(modules: dict[str, Path]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(module-level imports, imports inside functions) per product module; TYPE_CHECKING blocks skipped."""
    top: dict[str, set[str]] = {name: set() for name in modules}
    lazy: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))

        def visit(node: ast.AST, inside_function: bool, name: str = name) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    continue
                if isinstance(child, ast.Import | ast.ImportFrom):
                    (lazy if inside_function else top)[name] |= _resolve(name, child, modules)
                function = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
                visit(child, inside_function or function)

        visit(tree, False)
    return top, lazy


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, frontier = set(), [start]
    while frontier:
        node = frontier.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            frontier.extend(graph.get(node, ()))
    return False


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One path per circle found (Tarjan's strongly connected components larger than one)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strongconnect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                strongconnect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            strongconnect(node)
    return found


class TestImports:
    def test_the_module_level_imports_make_no_circle(self):
        top, _ = imports(product_modules())
        assert cycles(top) == []

    def test_a_lazy_import_closes_a_circle_or_says_why(self):
        modules = product_modules()
        top, lazy = imports(modules)
        needless = sorted(
            f"{importer} imports {target} inside a function"
            for importer, targets in lazy.items()
            for target in targets
            if target not in top[importer]
            and importer not in LAZY_BY_DESIGN
            and not _reaches(top, target, importer)  # at module level, it would close no circle
        )
        assert needless == []

    def test_it_finds_a_circle(self):
        assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
        assert cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("name", sorted(product_modules()))
def test_no_module_is_long_without_saying_why(name):
    path = product_modules()[name]
    lines = path.read_text().splitlines()
    if len(lines) > MAX_LINES:
        head = "\n".join(lines[:20]).lower()
        assert f"over {MAX_LINES} lines" in head, (
            f"{path.relative_to(ROOT)} has {len(lines)} lines: split it, or say at its top why it is "
            f"over {MAX_LINES} lines"
        )
