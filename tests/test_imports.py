"""The shape of the qa package (issue 19), read from the sources with ast (nothing is imported):
no import cycle, no module importing a layer above its own (text and types at the bottom, then
models, store, answering, measure, the shells), and no import inside a function except of an
optional or heavy dependency, which is then loaded only where it is needed (checked for the
modules listed in LAZY_CHECKED; the rest of the package follows as it is restructured)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# layer of each part: a module may import its own layer and those below
LAYERS = {
    "qa.types": 0,
    "qa.config": 0,
    "qa.text": 1,
    "qa.models": 2,
    "qa.store": 3,
    "qa.answering": 4,
    "qa.measure": 5,
    "qa.cli": 6,
    "qa.api": 6,
    "ui": 7,
    "qa": 7,
}
# dependencies a function may import: optional extras and heavy libraries used in one place only
LAZY_ALLOWED = {
    "faiss",
    "psycopg",
    "pgvector",
    "pgserver",
    "psutil",
    "matplotlib",
    "torch",
    "onnxruntime",
    "sentence_transformers",
    "xllamacpp",
    "transformers",
    "tqdm",
}
LAZY_CHECKED = ("qa", "ui")


def modules() -> dict[str, Path]:
    found = {"ui": ROOT / "ui.py"}
    for path in sorted((ROOT / "qa").rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def layer(name: str) -> int:
    return next(LAYERS[p] for p in sorted(LAYERS, key=len, reverse=True) if name == p or name.startswith(p + "."))


def imports(path: Path, known: dict[str, Path]) -> tuple[set[str], list[tuple[int, str, str]]]:
    """The qa modules `path` imports, and its imports inside functions: (line, first name, text)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    deps, lazy = set(), []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        names = (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
        )
        for name in names:
            parts = name.split(".")
            owner = next((".".join(parts[:i]) for i in range(len(parts), 0, -1) if ".".join(parts[:i]) in known), None)
            if owner and owner != "ui":
                deps.add(owner)
        up = node
        while up in parents:
            up = parents[up]
            if isinstance(up, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lazy.append((node.lineno, names[0].split(".")[0], ast.unparse(node)))
                break
    return deps, lazy


def graph() -> tuple[dict[str, set[str]], dict[str, list]]:
    known = modules()
    edges, lazy = {}, {}
    for name, path in known.items():
        deps, inside = imports(path, known)
        edges[name] = deps - {name}
        lazy[name] = inside
    return edges, lazy


def test_no_import_cycle():
    edges, _ = graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for dep in sorted(edges.get(name, ())):
            if state.get(dep) == 1:  # dep is on the path that led here
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(dep) :] + [name, dep]))
            if dep not in state:
                visit(dep, path + [name])
        state[name] = 2

    for name in sorted(edges):
        if name not in state:
            visit(name, [])


def test_no_module_imports_a_layer_above_its_own():
    edges, _ = graph()
    upward = sorted((a, b) for a, deps in edges.items() for b in deps if layer(b) > layer(a))
    assert upward == []


def test_no_import_inside_a_function_but_of_optional_heavy_dependencies():
    _, lazy = graph()
    found = [
        f"{name}:{line}: {text}"
        for name, inside in sorted(lazy.items())
        if name.startswith(LAZY_CHECKED)
        for line, first, text in inside
        if first == "qa" or first not in LAZY_ALLOWED
    ]
    assert found == []
