"""The package's shape (issue 16): modules of at most 300 lines, and no module that imports
another which imports it back, directly or through others, counting the imports made
inside functions too."""

from __future__ import annotations

import ast

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
