"""The structure check: no import loop inside the package, no module over the line limit.

Run by ``scripts/check``. An import loop is a set of modules that import each other,
directly or through others (imports inside functions count: they are loops deferred,
not loops removed). Migrations and the table declarations are long by nature and are
excepted from the line limit.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grimp

PACKAGE = "creditline"
SOURCE = Path("src") / PACKAGE
MAX_LINES = 600
LONG_BY_NATURE = ("adapters/db/tables.py", "adapters/db/migrations/")


def import_loops(graph: grimp.ImportGraph) -> list[list[str]]:
    """Every set of two or more modules that reach each other through their imports."""
    loops: list[list[str]] = []
    seen: set[str] = set()
    for module in sorted(graph.modules):
        if module in seen or not module.startswith(PACKAGE):
            continue
        below = graph.find_downstream_modules(module)
        above = graph.find_upstream_modules(module)
        members = (below & above) | {module}
        if len(members) > 1:
            loops.append(sorted(members))
        seen |= members
    return loops


def long_modules() -> list[tuple[int, str]]:
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE).as_posix()
        if relative.startswith(LONG_BY_NATURE):
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            found.append((lines, f"src/{PACKAGE}/{relative}"))
    return found


def main() -> int:
    problems = []
    graph = grimp.build_graph(PACKAGE, cache_dir=None)
    for loop in import_loops(graph):
        problems.append("import loop: " + " <-> ".join(loop))
    for lines, path in long_modules():
        problems.append(f"{path}: {lines} lines (at most {MAX_LINES}: split it by concept)")
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print("ok: no import loop, no module over", MAX_LINES, "lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
