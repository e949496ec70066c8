"""Repository invariants: CI runs exactly the README's quick-start test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:sh|bash|console)?\n(.*?)```", section, flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_readme_quick_start_is_two_commands():
    commands = _quick_start_commands()
    assert len(commands) == 2, commands
    assert "llmscope" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_exactly_the_readme_test_command():
    test_command = _quick_start_commands()[1]
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines


def test_readme_documents_json_keys_the_engine_produces():
    from llmscope.engine import Scenario, evaluate
    from llmscope.presets.report import json_document

    readme = (ROOT / "README.md").read_text()
    table = readme.split("Stable `--json` keys", 1)[1].split("\n- ", 1)[0]
    first_cells = [line.split("|")[1] for line in table.splitlines() if line.strip().startswith("|")]
    documented = [key for cell in first_cells for key in re.findall(r"`([a-z_]+\.[a-z_0-9]+)`", cell)]
    keys = json_document(Scenario(), evaluate(Scenario()))  # what `show --json` prints
    required = {
        "params.total", "params.active", "params.embedding", "kv_cache.bytes_per_token",
        "flops.forward_per_token", "flops.training_per_token", "memory.weights_bytes",
        "training.flops", "training.wall_clock_s", "training.accelerator_hours",
        "training.cost_usd", "training.energy_mwh", "training.co2_tonnes", "serving.ttft_s",
        "serving.decode_tokens_per_s", "serving.usd_per_million_output_tokens", "scaling.loss",
        "scaling.optimal_params", "scaling.optimal_tokens",
    }  # fmt: skip
    assert required <= set(documented)
    assert set(documented) <= set(keys)
