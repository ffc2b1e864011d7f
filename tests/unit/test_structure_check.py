"""The structure check of ``scripts/check`` finds import loops and overlong modules."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import grimp
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "structure.py"


@pytest.fixture(scope="module")
def structure() -> ModuleType:
    spec = importlib.util.spec_from_file_location("structure", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _graph(*imports: tuple[str, str]) -> grimp.ImportGraph:
    graph = grimp.ImportGraph()
    for importer, imported in imports:
        graph.add_module(importer)
        graph.add_module(imported)
        graph.add_import(importer=importer, imported=imported)
    return graph


def test_a_loop_through_three_modules_is_found(structure: ModuleType) -> None:
    graph = _graph(
        ("creditline.a", "creditline.b"),
        ("creditline.b", "creditline.c"),
        ("creditline.c", "creditline.a"),
        ("creditline.c", "creditline.d"),
    )
    assert structure.import_loops(graph) == [["creditline.a", "creditline.b", "creditline.c"]]


def test_two_separate_loops_are_both_found(structure: ModuleType) -> None:
    graph = _graph(
        ("creditline.a", "creditline.b"),
        ("creditline.b", "creditline.a"),
        ("creditline.x", "creditline.y"),
        ("creditline.y", "creditline.x"),
        ("creditline.a", "creditline.x"),
    )
    assert sorted(structure.import_loops(graph)) == [
        ["creditline.a", "creditline.b"],
        ["creditline.x", "creditline.y"],
    ]


def test_imports_that_run_one_way_are_no_loop(structure: ModuleType) -> None:
    graph = _graph(
        ("creditline.a", "creditline.b"),
        ("creditline.a", "creditline.c"),
        ("creditline.b", "creditline.c"),
    )
    assert structure.import_loops(graph) == []


def test_a_module_over_the_limit_is_named(
    structure: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "src" / "creditline"
    (package / "adapters" / "db" / "migrations").mkdir(parents=True)
    (package / "short.py").write_text("x = 1\n" * 600)
    (package / "long.py").write_text("x = 1\n" * 601)
    (package / "adapters" / "db" / "tables.py").write_text("x = 1\n" * 900)
    (package / "adapters" / "db" / "migrations" / "0001.py").write_text("x = 1\n" * 900)
    monkeypatch.chdir(tmp_path)
    assert structure.long_modules() == [(601, "src/creditline/long.py")]
