"""The layers hold: engine (pure numbers) -> presets (files, settings, session, reports) -> tui (the
app and the command line). An import goes down a layer, never up, and no modules import each other
in a circle. Checked on the import graph of the installed package (grimp, the graph import-linter
builds) and by import-linter's own command with the contracts in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("llmscope.engine", "llmscope.presets", "llmscope.tui")  # bottom up


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    # Imports under `if TYPE_CHECKING:` never run; every other import counts, including the ones
    # inside functions (a deferred import is still an arrow).
    return grimp.build_graph("llmscope", exclude_type_checking_imports=True)


def _layer(module: str) -> int | None:
    for rank, layer in enumerate(LAYERS):
        if module == layer or module.startswith(layer + "."):
            return rank
    return None


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each a circle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(module: str) -> None:
        nonlocal counter
        index[module] = low[module] = counter
        counter += 1
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_through_others(graph):
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_circle():
    # The check itself can fail: a two-module circle added to a copy of the graph is found.
    graph = grimp.build_graph("llmscope", exclude_type_checking_imports=True)
    graph.add_import(importer="llmscope.engine.errors", imported="llmscope.engine.scenario")
    assert any("llmscope.engine.errors" in cycle for cycle in _cycles(graph))


def test_every_import_goes_down_a_layer(graph):
    upward = []
    for module in graph.modules:
        here = _layer(module)
        for imported in graph.find_modules_directly_imported_by(module):
            there = _layer(imported)
            if here is not None and there is not None and there > here:
                upward.append(f"{module} -> {imported}")
    assert upward == []


def test_every_module_sits_in_a_layer(graph):
    # A new top-level folder must be placed in the layers (ARCHITECTURE.md) before it is imported.
    outside = {m for m in graph.modules if _layer(m) is None} - {"llmscope", "llmscope.__main__",
                                                                 "llmscope.themes"}
    assert outside == set()


def test_the_app_never_imports_the_command_line(graph):
    command_line = {"llmscope.tui.cli", "llmscope.tui.console", "llmscope.tui.plan_command"}
    app_side = [m for m in graph.modules if m.startswith(("llmscope.tui.app", "llmscope.tui.screens",
                                                          "llmscope.tui.widgets", "llmscope.tui.themes",
                                                          "llmscope.tui.commands"))]
    for module in app_side:
        chain = [m for m in command_line if graph.chain_exists(module, m)]
        assert chain == [], f"{module} reaches {chain}"


PROBE = """
import sys
import llmscope.engine
from llmscope.engine import Scenario, evaluate
evaluate(Scenario())
import pkgutil
for info in pkgutil.walk_packages(llmscope.engine.__path__, "llmscope.engine."):
    __import__(info.name)
import llmscope.presets.report, llmscope.presets.library, llmscope.presets.session
import llmscope.presets.sources, llmscope.presets.detect, llmscope.presets.hf_cache
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {"textual", "rich"}
                or m.startswith(("llmscope.tui", "llmscope.themes")))
print(",".join(loaded))
"""


def test_engine_and_presets_load_no_terminal_ui_code():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd="/", capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_no_engine_source_mentions_textual_or_rich():
    # Belt and braces beside the import-linter contract in pyproject.toml.
    for path in (ROOT / "engine").rglob("*.py"):
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith(("import ", "from ")):
                assert "textual" not in stripped and "rich" not in stripped.split()[1], (
                    f"{path.name}: {stripped}"
                )


def test_import_linter_contracts_are_kept():
    # The contracts in pyproject.toml, checked by import-linter's own command.
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout
