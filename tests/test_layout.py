"""The package's shape (issue 16): modules of at most 300 lines, and no module that imports
another which imports it back, directly or through others, counting the imports made
inside functions too."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "search"


def imports_of_every_module() -> dict[str, set[str]]:
    files = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
             for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(
                    "search"):
                modules = [f"{node.module}.{a.name}" for a in node.names
                           if f"{node.module}.{a.name}" in files]
                found.update(modules)
                if len(modules) < len(node.names):  # names from the module itself
                    found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("search"))
        graph[name] = {m for m in found if m in files and m != name}
    return graph


def test_no_import_cycles_in_the_package() -> None:
    graph = imports_of_every_module()
    assert "search.embedding" in graph["search.retrieval"]  # the graph sees imports
    cycles = []
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycles.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, [" -> ".join(c) for c in cycles]


def test_no_module_in_the_package_is_over_300_lines() -> None:
    sizes = {p.relative_to(ROOT).as_posix(): len(p.read_text(encoding="utf-8").splitlines())
             for p in PACKAGE.rglob("*.py")}
    assert sizes["search/answer.py"] > 100  # the count reads real files
    assert {name: n for name, n in sizes.items() if n > 300} == {}


def private_names_used_from_outside(path: Path) -> list[str]:
    """``from search.x import _name`` and ``module._name`` for a module ``path`` imports
    (dunders aside): uses of another module's private names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: set[str] = set()
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if _private(alias.name) and node.module.startswith(("search", "app_pages")):
                    found.append(f"{node.module}.{alias.name}")
                modules.add(alias.asname or alias.name)  # maybe a module: checked below
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and _private(node.attr)
                and isinstance(node.value, ast.Name) and node.value.id in modules
                and node.value.id not in {"self", "cls"}):
            found.append(f"{node.value.id}.{node.attr}")
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_code_uses_another_modules_private_names(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from search import lexical\nfrom search.query import _plain\n"
                      "lexical._stemmer()\nself._own()\nlexical.__name__\n")
    assert private_names_used_from_outside(sample) == ["search.query._plain",
                                                       "lexical._stemmer"]
    files = [*PACKAGE.rglob("*.py"), *(ROOT / "app_pages").rglob("*.py"), ROOT / "app.py",
             ROOT / "ingest.py", *(ROOT / "tests").glob("*.py")]
    assert len(files) > 60
    used = {p.relative_to(ROOT).as_posix(): found for p in files
            if (found := private_names_used_from_outside(p))}
    assert used == {}
