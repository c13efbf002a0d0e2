"""Data flows one way: no package imports itself back in a circle (lazy imports inside functions count too)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("targets", "memsim", "cbo", "validation", "autotinyml_cli")


def _modules() -> dict:
    mods = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            mods[name.removesuffix(".__init__")] = path
    return mods


def _edges(mods: dict) -> dict:
    edges = {m: set() for m in mods}
    for m, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in mods]
                targets = subs if len(subs) == len(node.names) else [node.module, *subs]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            # a module reading its own package's names is not a circle (Python imports the package first anyway)
            edges[m] |= {t for t in targets if t in mods and t != m and not m.startswith(t + ".")}
    return edges


def _circles(edges: dict) -> list[set]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in edges:
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_itself_back_in_a_circle():
    # the study and its samplers meet in cbo._view; experiment calls the search as a function
    assert not _circles(_edges(_modules()))


def test_nothing_imports_a_higher_layer():
    order = {p: k for k, p in enumerate(PACKAGES)}  # targets -> memsim -> cbo / validation -> the command line
    order["validation"] = order["cbo"]
    for m, targets in _edges(_modules()).items():
        for t in targets:
            below = order[t.split(".")[0]] <= order[m.split(".")[0]]
            assert below and not (m.startswith("cbo") and t.startswith("validation")), (m, t)
