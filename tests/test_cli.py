"""The `llmscope` command line: output of each subcommand, and one-line errors with status 2."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from llmscope.engine.hf_import import architecture_from_hf_config
from llmscope.engine.parameters import count_parameters
from llmscope.presets.files import load_preset
from llmscope.presets.library import bundled_dir
from llmscope.tui.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "hf_configs"
HF_FIXTURES = sorted(FIXTURES.glob("*.json"))


@pytest.fixture(autouse=True)
def hermetic(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMSCOPE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("LLMSCOPE_PRESET_PATH", raising=False)
    return tmp_path / "config"


def run(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(status, out, err, *fragments):
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("llmscope: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err


# --- show -----------------------------------------------------------------------------------------


def test_show_json_has_the_readout_keys(capsys):
    status, out, err = run(capsys, "show", "llama3.1-70b", "--json")
    assert status == 0 and err == ""
    doc = json.loads(out)
    for key in (
        "params.total",
        "params.active",
        "kv_cache.bytes_per_token",
        "flops.forward_per_token",
        "memory.weights_bytes",
        "scenario",
        "preset",
    ):
        assert key in doc
    assert doc["params.total"] == 70_553_706_496  # models.json computed_params_hf_impl
    assert doc["preset"]["origin"] == "bundled"
    assert doc["preset"]["published"]["params_total"] == 70_000_000_000


def test_show_json_has_the_predicted_training_performance(capsys):
    status, out, err = run(capsys, "show", "llama3.1-405b", "--json")
    assert status == 0 and err == ""
    doc = json.loads(out)
    for key in (
        "training.tokens_per_s", "training.tokens_per_s_per_accelerator", "training.step_time_s",
        "training.bubble_fraction", "training.step_s.compute", "training.step_s.pipeline_bubble",
        "training.step_s.tensor_parallel", "training.step_s.data_parallel",
    ):  # fmt: skip
        assert doc[key] > 0, key
    assert doc["training.mfu_source"] == "predicted"
    assert 0.36 <= doc["training.mfu"] <= 0.46
    assert doc["training.tokens_per_s"] == pytest.approx(
        doc["training.tokens_per_s_per_accelerator"] * 16384
    )
    parts = sum(v for k, v in doc.items() if k.startswith("training.step_s."))
    assert parts == pytest.approx(doc["training.step_time_s"])
    status, out, err = run(capsys, "show", "llama3.1-405b", "--json", "--set", "cluster.mfu=0.3")
    doc = json.loads(out)
    assert doc["training.mfu"] == 0.3 and doc["training.mfu_source"] == "set"


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [
        ("serving.tensor_parallel=20", "serving.tensor_parallel: 20 must divide the 32"),
        ("training.tensor_parallel=20", "training.tensor_parallel: 20 must divide the 32"),
        ("training.pipeline_parallel=33", "training.pipeline_parallel: 33 stages for 32 layers"),
    ],
)
def test_show_an_invalid_layout_exits_2_with_the_field_and_reason(capsys, setting, fragment):
    status, out, err = run(capsys, "show", "llama3.1-8b", "--json", "--set", setting)
    assert_one_line_error(status, out, err, "invalid layout", fragment)
    assert out == ""


def test_diff_of_an_invalid_layout_exits_2_naming_the_side(capsys):
    status, out, err = run(
        capsys, "diff", "llama3.1-8b", "llama3.1-8b", "--set-b", "training.tensor_parallel=3"
    )
    assert_one_line_error(status, out, err, "B: invalid layout: training.tensor_parallel")


def test_plan_pins_the_degrees_set_on_the_command_line(capsys):
    status, out, err = run(
        capsys, "plan", "llama3.1-405b", "--json", "--top", "20",
        "--set", "training.tensor_parallel=8", "--set", "training.pipeline_parallel=16",
    )  # fmt: skip
    assert status == 0, err
    doc = json.loads(out)
    assert {(p["tensor_parallel"], p["pipeline_parallel"]) for p in doc["plans"]} == {(8, 16)}
    assert doc["pinned"] == ["training.tensor_parallel", "training.pipeline_parallel"]
    assert doc["current"]["rank"] >= 1 and doc["current"]["data_parallel"] == 128


def test_count_below_per_node_is_accepted_in_any_order(capsys):
    # per_node is capped by the count, so a small cluster needs no per_node edit first
    status, out, err = run(capsys, "show", "llama3.1-70b", "--json", "--set", "cluster.count=2")
    assert status == 0 and json.loads(out)["training.data_parallel"] == 2


def test_show_set_parses_values_with_the_field_type(capsys):
    status, out, _ = run(
        capsys,
        "show",
        "llama2-7b",
        "--json",
        "--set",
        "training.tokens=1e12",
        "--set",
        "serving.kv_dtype=fp8",
        "--set",
        "training.flash_attention=false",
    )
    assert status == 0
    scenario = json.loads(out)["scenario"]
    assert scenario["training"]["tokens"] == 1e12
    assert scenario["serving"]["kv_dtype"] == "fp8"
    assert scenario["training"]["flash_attention"] is False


def test_show_text_and_markdown(capsys):
    status, out, _ = run(capsys, "show", "mixtral-8x7b")
    assert status == 0 and "Parameters" in out and "46,702,792,704" in out
    status, out, _ = run(capsys, "show", "mixtral-8x7b", "--format", "md")
    assert status == 0 and out.startswith("# ") and "| total | 46.7B | 46,702,792,704 |" in out


def test_show_accepts_a_preset_path_and_a_config_directory(capsys, tmp_path):
    # The installed package's own file (a checkout's presets/ folder is not what is installed).
    preset_path = bundled_dir() / "gemma2-9b.toml"
    status, out, _ = run(capsys, "show", str(preset_path), "--json")
    doc = json.loads(out)
    assert status == 0 and doc["params.total"] == 9_241_705_984  # models.json gemma-2-9b
    assert doc["preset"]["origin"] == "bundled"
    elsewhere = tmp_path / "copy.toml"
    elsewhere.write_text(preset_path.read_text())
    status, out, _ = run(capsys, "show", str(elsewhere), "--json")
    assert status == 0 and json.loads(out)["preset"]["origin"] == "path"
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text(
        json.dumps(
            {"model_type": "gpt2", "n_embd": 768, "n_layer": 12, "n_head": 12, "vocab_size": 50257}
        )
    )
    status, out, _ = run(capsys, "show", str(model_dir), "--json")
    assert status == 0 and json.loads(out)["params.total"] == 124_439_808  # GPT-2 small, HF count


def test_hf_config_fixtures_are_present():
    assert HF_FIXTURES, f"no Hugging Face config fixtures in {FIXTURES}"


@pytest.mark.parametrize("fixture", HF_FIXTURES, ids=lambda p: p.stem)
def test_show_hf_config_for_every_fixture(capsys, fixture):
    config = json.loads(fixture.read_text())
    expected = count_parameters(architecture_from_hf_config(config)).total
    status, out, err = run(capsys, "show", "--hf-config", str(fixture), "--json")
    assert status == 0, err
    doc = json.loads(out)
    assert doc["params.total"] == expected
    assert doc["scenario"]["model"]["family"] == config["model_type"]


def test_hf_config_replaces_only_the_model(capsys):
    fixture = FIXTURES / "llama.json"
    if not fixture.exists():
        pytest.fail(f"{fixture} missing")
    status, out, _ = run(capsys, "show", "deepseek-v3", "--hf-config", str(fixture), "--json")
    doc = json.loads(out)
    assert status == 0
    assert doc["scenario"]["model"]["family"] == "llama"
    assert doc["scenario"]["cluster"]["count"] == 2048  # from the deepseek-v3 preset



# The example of README.md's "Accelerators" section, and an entry with a bad figure.
USER_ACCELERATORS = """
[accelerators.nvidia-h100-sxm]
price_usd_per_hour = 2.10
price_date = "2026-11"

[accelerators.acme-x1]
name = "Acme X1 64GB"
vendor = "Acme"
memory_gb = 64
memory_bandwidth_gbs = 2000
bf16_tflops = 500
tdp_w = 600
interconnect_gbs = 400
source = "vendor datasheet, 2026"

[accelerators.acme-broken]
name = "Acme Broken"
vendor = "Acme"
memory_gb = -5
memory_bandwidth_gbs = 2000
bf16_tflops = 500
interconnect_gbs = 400
"""


def test_show_plan_and_diff_read_the_users_accelerators_like_the_app(capsys, hermetic):
    hermetic.mkdir(parents=True)
    (hermetic / "accelerators.toml").write_text(USER_ACCELERATORS)
    h100 = ("--set", "cluster.accelerator=nvidia-h100-sxm")
    h100 += ("--set", "cluster.price_usd_per_hour=none")  # the catalog's (the user's) price
    status, out, err = run(capsys, "show", "llama2-7b", *h100, "--json")
    assert status == 0
    assert json.loads(out)["training.price_usd_per_hour"] == 2.10  # the user's rate
    # The bad entry is reported (file, id, field) and skipped; the command goes on.
    assert err.count("\n") == 1 and err.startswith("llmscope: warning: ")
    assert "acme-broken" in err and "memory_gb" in err
    acme = ("--set", "cluster.accelerator=acme-x1")
    status, out, err = run(capsys, "show", "llama2-7b", *acme, "--json")
    assert status == 0 and json.loads(out)["accelerator.memory_bytes"] == 64 * 2**30
    status, out, _ = run(capsys, "plan", "llama2-7b", *acme)
    assert status == 0 and "acme-x1" in out and "64.0 GiB" in out
    status, out, _ = run(
        capsys, "diff", "llama2-7b", "llama2-7b", "--set-b", "cluster.accelerator=acme-x1", "--json"
    )
    assert status == 0
    assert json.loads(out)["readout"]["accelerator.memory_bytes"]["b"] == 64 * 2**30


def test_show_answers_a_compute_budget_under_every_law(capsys):
    from llmscope.engine.scaling import LAWS, compute_optimal

    status, out, err = run(
        capsys, "show", "llama2-7b", "--set", "scaling.compute_budget_flops=1e24", "--json"
    )
    assert status == 0, err
    doc = json.loads(out)
    law = doc["scenario"]["scaling"]["law"]
    assert (doc["scaling.budget_optimal_params"], doc["scaling.budget_optimal_tokens"]) == (
        pytest.approx(compute_optimal(law, 1e24))
    )
    for law_id in LAWS:
        params, tokens = compute_optimal(law_id, 1e24)
        assert doc[f"scaling.{law_id}.budget_optimal_params"] == pytest.approx(params)
        assert doc[f"scaling.{law_id}.budget_optimal_tokens"] == pytest.approx(tokens)
    status, out, _ = run(capsys, "show", "llama2-7b", "--set", "scaling.compute_budget_flops=1e24")
    assert status == 0 and "budget_optimal_params" in out
    assert "kaplan2020.budget_optimal_tokens" in out


def test_choices_in_set_read_whatever_the_case(capsys):
    status, out, err = run(
        capsys, "show", "llama2-7b", "--set", "serving.weight_dtype=FP8", "--json"
    )
    assert status == 0, err
    assert json.loads(out)["scenario"]["serving"]["weight_dtype"] == "fp8"


def test_a_key_set_twice_is_an_error_naming_both(capsys):
    status, out, err = run(
        capsys, "show", "llama2-7b", "--set", "model.num_layers=4", "--set", " model.num_layers=8"
    )
    assert_one_line_error(
        status, out, err, "model.num_layers=4", "model.num_layers=8", "set twice"
    )


def test_a_config_json_with_a_byte_order_mark_is_read(capsys, tmp_path):
    fixture = FIXTURES / "mistral.json"
    with_bom = tmp_path / "config.json"
    with_bom.write_bytes(b"\xef\xbb\xbf" + fixture.read_bytes())
    status, out, err = run(capsys, "show", str(with_bom), "--json")
    assert status == 0, err
    expected = architecture_from_hf_config(json.loads(fixture.read_text()))
    assert json.loads(out)["params.total"] == count_parameters(expected).total

# --- errors: one line, status 2 -------------------------------------------------------------------


def test_bad_path(capsys, tmp_path):
    status, out, err = run(capsys, "show", str(tmp_path / "nope.toml"))
    assert_one_line_error(status, out, err, "no such preset")


def test_malformed_json(capsys, tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text('{"model_type": "llama",\n "hidden_size": }')
    status, out, err = run(capsys, "show", str(bad))
    assert_one_line_error(status, out, err, f"{bad}:2: not valid JSON")


def test_unsupported_family(capsys, tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text('{"model_type": "t5"}')
    status, out, err = run(capsys, "show", "--hf-config", str(bad))
    assert_one_line_error(status, out, err, "unsupported model_type 't5'")


def test_bad_set_key_names_the_closest_key(capsys):
    status, out, err = run(capsys, "show", "llama2-7b", "--set", "model.num_layer=4")
    assert_one_line_error(status, out, err, "did you mean model.num_layers?")


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [
        ("cluster.mfu=1.5", "cluster.mfu: must be at most 1"),
        ("model.hidden_size=big", "expected a whole number"),
        ("model.hidden_size", "expected key=value"),
        ("model.num_kv_heads=5", "num_kv_heads (5) must divide num_attention_heads"),
    ],
)
def test_bad_set_values(capsys, setting, fragment):
    status, out, err = run(capsys, "show", "llama2-7b", "--set", setting)
    assert_one_line_error(status, out, err, fragment)


def test_broken_preset_file_and_unknown_option(capsys, tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[model]\nhidden_size = \n")
    status, out, err = run(capsys, "show", str(broken))
    assert_one_line_error(status, out, err, "TOML syntax error")
    status, out, err = run(capsys, "show", "llama2-7b", "--colour")
    assert_one_line_error(status, out, err, "unrecognized arguments: --colour")


def test_console_script_prints_no_traceback(tmp_path):
    env = {"LLMSCOPE_CONFIG_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "llmscope.tui.cli", "show", str(tmp_path / "x.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("llmscope: error: ") and done.stderr.count("\n") == 1
    done = subprocess.run(
        [sys.executable, "-m", "llmscope.tui.cli", "show", "gpt2-xl", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0 and json.loads(done.stdout)["params.total"] == 1_557_611_200


# --- list, locate, import-hf, diff ----------------------------------------------------------------


def test_list_shows_origins_shadowing_and_broken_presets_literally(capsys, hermetic, tmp_path):
    user = hermetic / "presets"
    user.mkdir(parents=True)
    (user / "llama2-7b.toml").write_text(
        '[meta]\nname = "llama2-7b"\nauthor = "[red]me[/]\\u001b]0;x"\n'
    )
    (user / "broken.toml").write_text("[training]\nzero_stage = 7\n")
    status, out, err = run(capsys, "list")
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "ORIGIN", "AUTHOR", "PATH"]
    user_line = next(line for line in lines if str(user / "llama2-7b.toml") in line)
    assert "user" in user_line and "[red]me[/]\\x1b]0;x" in user_line
    bundled_line = next(line for line in lines if line.startswith("llama2-7b (shadowed)"))
    assert "bundled" in bundled_line
    assert any(line.startswith("broken: ") and "zero_stage" in line for line in lines)
    assert "\x1b" not in out


def test_list_json(capsys, hermetic):
    user = hermetic / "presets"
    user.mkdir(parents=True)
    (user / "bad.toml").write_text("schema = 9\n")
    status, out, _ = run(capsys, "list", "--json")
    rows = json.loads(out)
    assert status == 0
    bundled = {r["name"] for r in rows if r["origin"] == "bundled"}
    assert {"llama3.1-405b", "deepseek-v3", "gemma2-27b"} <= bundled
    (bad,) = [r for r in rows if r["path"].endswith("bad.toml")]
    assert "newer llmscope (schema 9)" in bad["error"]


def test_presets_option_is_searched_first(capsys, tmp_path):
    team = tmp_path / "team"
    team.mkdir()
    (team / "gpt2-xl.toml").write_text("[cluster]\ncount = 64\n")
    status, out, _ = run(capsys, "--presets", str(team), "show", "gpt2-xl", "--json")
    assert status == 0 and json.loads(out)["scenario"]["cluster"]["count"] == 64
    status, out, _ = run(capsys, "show", "gpt2-xl", "--presets", str(team), "--json")
    assert status == 0 and json.loads(out)["scenario"]["cluster"]["count"] == 64
    status, out, _ = run(capsys, "locate", "--presets", str(team))
    assert status == 0
    assert out.splitlines()[1].split()[:2] == ["--presets", str(team)]
    assert "settings" in out and "user" in out and "bundled" in out


def test_locate_names_every_session_file_and_which_one_a_running_app_holds(capsys, hermetic):
    from llmscope.engine.scenario import Scenario
    from llmscope.presets.session import claim_session, session_file

    status, out, _ = run(capsys, "locate")
    assert status == 0 and f"autosaved session      {session_file()}  (missing)" in out
    first = claim_session()  # a running app: holds session.toml
    first.save(Scenario(), None)
    second = claim_session()  # a second app beside it: session-2.toml
    second.save(Scenario(), None)
    second.release()  # ended, its file kept
    try:
        status, out, _ = run(capsys, "locate")
    finally:
        first.release()
    assert status == 0
    rows = [line for line in out.splitlines() if "session" in line and ".toml" in line]
    assert rows == [
        f"autosaved sessions     {session_file(1)}  (exists, in use by a running llmscope)",
        f"                       {session_file(2)}  (exists)",
    ]


def test_import_hf_writes_a_preset_and_refuses_to_overwrite(capsys, tmp_path):
    fixture = next(iter(HF_FIXTURES), None)
    if fixture is None:
        pytest.fail(f"no fixtures in {FIXTURES}")
    target = tmp_path / "mine.toml"
    status, out, err = run(capsys, "import-hf", str(fixture), "-o", str(target))
    assert status == 0, err
    expected = architecture_from_hf_config(json.loads(fixture.read_text()))
    assert load_preset(target).scenario.model == expected
    status, out, err = run(capsys, "import-hf", str(fixture), "-o", str(target))
    assert_one_line_error(status, out, err, "already exists; add --force")
    status, _, _ = run(capsys, "import-hf", str(fixture), "-o", str(target), "--force")
    assert status == 0



def test_import_hf_into_a_missing_directory_is_an_error(capsys, tmp_path):
    target = tmp_path / "no-such-dir" / "mine.toml"
    status, out, err = run(capsys, "import-hf", str(FIXTURES / "mistral.json"), "-o", str(target))
    assert_one_line_error(status, out, err, "does not exist", str(tmp_path / "no-such-dir"))
    assert not (tmp_path / "no-such-dir").exists()

def test_import_hf_without_output_goes_to_the_user_presets(capsys, hermetic):
    fixture = FIXTURES / "mistral.json"
    if not fixture.exists():
        pytest.fail(f"{fixture} missing")
    status, out, _ = run(capsys, "import-hf", str(fixture), "--name", "My Mistral")
    assert status == 0
    assert (hermetic / "presets" / "my-mistral.toml").is_file()
    status, out, _ = run(capsys, "show", "My Mistral", "--json")
    assert status == 0 and json.loads(out)["preset"]["origin"] == "user"


def test_diff_text_and_json(capsys):
    status, out, _ = run(capsys, "diff", "mixtral-8x7b", "mistral-7b")
    assert status == 0 and "A: mixtral-8x7b" in out and "model.num_experts" in out
    status, out, _ = run(
        capsys, "diff", "llama2-7b", "llama2-7b", "--set-b", "training.zero_stage=3", "--json"
    )
    doc = json.loads(out)
    assert status == 0
    assert doc["settings"] == {"training.zero_stage": {"a": 1, "b": 3}}
    assert doc["readout"]["params.total"]["delta"] == 0


# --- opening the app ------------------------------------------------------------------------------


@pytest.fixture
def a_terminal(monkeypatch):
    """As if llmscope were started in a terminal (under pytest stdout is a pipe, and then it
    prints the text readout instead: tests/test_session_and_terminal.py)."""
    from llmscope.tui import cli

    monkeypatch.setattr(cli, "_why_no_app", lambda: None)


def test_open_without_the_app_is_one_line(capsys, monkeypatch, a_terminal):
    monkeypatch.setitem(sys.modules, "llmscope.tui.app", None)  # import fails as if the module were absent
    status, out, err = run(capsys, "llama2-7b")
    assert_one_line_error(status, out, err, "llmscope.tui.app is missing")


def test_open_passes_the_preset_to_the_app(capsys, monkeypatch, tmp_path, a_terminal):
    calls = []
    fake = types.ModuleType("llmscope.tui.app")
    fake.run_app = lambda **kwargs: calls.append(kwargs)
    monkeypatch.setitem(sys.modules, "llmscope.tui.app", fake)
    assert main(["--presets", str(tmp_path), "llama2-70b"]) == 0
    (kwargs,) = calls
    assert kwargs["preset"].name == "llama2-70b"
    assert kwargs["scenario"] == kwargs["preset"].scenario
    assert kwargs["extra_preset_dirs"] == [tmp_path]
    assert main([]) == 0 and calls[-1]["scenario"] is None and calls[-1]["preset"] is None


def test_the_collector_held_off_by_the_console_script_is_back_for_commands_not_the_app(
    capsys, monkeypatch, hermetic, a_terminal
):
    # tui/console.py turns it off before the imports; the app turns it on after its first frame
    # (tests/test_app.py), every other command as soon as its arguments are read.
    seen = []
    fake = types.ModuleType("llmscope.tui.app")
    fake.run_app = lambda **kwargs: seen.append(gc.isenabled())
    monkeypatch.setitem(sys.modules, "llmscope.tui.app", fake)
    try:
        gc.disable()
        assert main([]) == 0 and seen == [False]
        assert main(["list"]) == 0 and gc.isenabled()
    finally:
        gc.enable()
