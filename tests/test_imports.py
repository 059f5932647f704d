"""The project's import graph, read with ast (nothing is imported): no cycles, tools/ and sandbox/
never import agent/, and no private name crosses a module boundary.

Imports inside functions count: they run too, only later. Those under `if TYPE_CHECKING:` never
run, so they are left out. `from pkg import name` imports the submodule pkg.name when there is one,
else pkg; `import a.b.c` imports a.b.c (its parents' __init__ are not counted as edges, or every
package importing its own submodules would be a cycle)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("agent", "tools", "sandbox", "prompts")
LOWER_LAYERS = ("tools", "sandbox")  # the deterministic capabilities: they know nothing of the agent


def project_modules() -> dict[str, Path]:
    """Dotted name -> file, for every module reachable through packages (a sample repository's
    files under agent/demo are data, not modules: their folders have no __init__.py)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if not all((ROOT.joinpath(*parts[:i]) / "__init__.py").is_file() for i in range(1, len(parts))):
                continue
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Imports(ast.NodeVisitor):
    """(line, module, name) for each imported name; name is None for `import module`."""

    def __init__(self, package: str):
        self.package, self.found = package, []

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.found += [(node.lineno, alias.name, None) for alias in node.names]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            parts = self.package.split(".")
            base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        self.found += [(node.lineno, base, alias.name) for alias in node.names]


def _internal(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of `name` that is a project module (None for the standard library and
    third-party packages)."""
    parts = name.split(".")
    return next((".".join(parts[:n]) for n in range(len(parts), 0, -1) if ".".join(parts[:n]) in modules), None)


def import_graph() -> tuple[dict[str, dict[str, int]], list[tuple[str, int, str, str]]]:
    """module -> {imported module: first line}, and every private name imported from another project
    module as (importing module, line, from module, name)."""
    modules = project_modules()
    graph: dict[str, dict[str, int]] = {m: {} for m in modules}
    private: list[tuple[str, int, str, str]] = []
    for module, path in modules.items():
        visitor = _Imports(module if path.name == "__init__.py" else module.rpartition(".")[0])
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        for line, base, name in visitor.found:
            sub = f"{base}.{name}" if name else None
            target = sub if sub in modules else _internal(base, modules)
            if target is None:
                continue
            if target != module:
                graph[module].setdefault(target, line)
            if name and name.startswith("_") and not (name.startswith("__") and name.endswith("__")):
                private.append((module, line, base, name))
    return graph, private


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle (first module repeated at the end) per strongly connected component (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_cycle_in(graph, component) for component in components]


def _cycle_in(graph: dict[str, dict[str, int]], component: set[str]) -> list[str]:
    """The shortest way from the component's first module back to itself, staying inside it."""
    start = min(component)
    paths = {w: [start, w] for w in graph[start] if w in component}
    queue = list(paths)
    while start not in paths:
        v = queue.pop(0)
        for w in graph[v]:
            if w in component and w not in paths:
                paths[w] = paths[v] + [w]
                queue.append(w)
    return paths[start]


def _where(module: str, line: int) -> str:
    return f"{project_modules()[module].relative_to(ROOT)}:{line}"


def test_no_import_cycles():
    graph, _ = import_graph()
    found = cycles(graph)
    shown = ["  " + " -> ".join(cycle) + "\n" + "".join(f"      {_where(a, graph[a][b])}: imports {b}\n"
                                                        for a, b in zip(cycle, cycle[1:])) for cycle in found]
    assert not found, f"{len(found)} import cycle(s):\n" + "".join(shown)


def test_lower_layers_never_import_the_agent():
    graph, _ = import_graph()
    bad = [f"  {_where(m, line)}: {m} imports {target}" for m, targets in graph.items()
           if m.split(".")[0] in LOWER_LAYERS for target, line in targets.items() if target.split(".")[0] == "agent"]
    assert not bad, "tools/ and sandbox/ import agent/:\n" + "\n".join(bad)


def test_no_private_names_across_modules():
    _, private = import_graph()
    bad = [f"  {_where(m, line)}: from {base} import {name}" for m, line, base, name in private]
    assert not bad, "private names imported from another module:\n" + "\n".join(bad)


def test_the_walker_sees_what_it_must():
    """The checks above pass vacuously if the walker misses imports: pin a few known edges."""
    graph, _ = import_graph()
    assert "agent.cli_common" in graph["agent.cli"]  # module level, absolute
    assert "agent.runner" in graph["agent.cli"]  # inside a command function
    assert "sandbox.base" in graph["sandbox"]  # relative, from a package's __init__
    assert "sandbox.reaper" in graph["sandbox"]  # relative, inside a function
    assert "agent.swebench.cli" not in graph.get("agent.cli_common", {})
    assert "agent.cli" not in graph["agent.swebench.cli"]
