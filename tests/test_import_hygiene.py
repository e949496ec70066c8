"""The engine is a pure library: importing and using it loads no terminal UI code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import sys
import engine
from engine import Scenario, evaluate
evaluate(Scenario())
import engine.hf_import, engine.flops, engine.memory, engine.parameters
for name in ("engine.hardware", "engine.scaling", "engine.training", "engine.serving",
             "engine.planner"):
    try:
        __import__(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {"textual", "rich", "tui", "themes"})
print(",".join(loaded))
"""


def test_engine_imports_no_textual_rich_or_tui():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
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


def test_import_linter_contract_is_kept():
    # The "forbidden" contract in pyproject.toml, checked by import-linter's own command.
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout
