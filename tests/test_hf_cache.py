"""Models already on the box: a fake Hugging Face cache laid out as huggingface_hub lays it out:
models--ORG--NAME/{refs/main, blobs/<hash>, snapshots/<commit>/config.json -> ../../blobs/...}."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from llmscope.engine.parameters import count_parameters
from llmscope.presets.hf_cache import (
    find_cached_models,
    hub_cache_dir,
    load_cached_architecture,
)

REFERENCE = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def models() -> dict[str, dict]:
    if not REFERENCE.is_dir():
        pytest.fail(f"reference facts not found at {REFERENCE} (tests/data in the repository)")
    data = json.loads((REFERENCE / "models.json").read_text())
    return {m["id"]: m for m in data["models"]}


def add_repo(
    hub: Path, repo_id: str, config: dict | str | None, commit: str = "a" * 40, main: bool = True
) -> Path:
    repo = hub / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True, exist_ok=True)
    if main:
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / "main").write_text(commit)
    if config is not None:
        text = config if isinstance(config, str) else json.dumps(config)
        blob = repo / "blobs" / f"{abs(hash(text)):x}"
        blob.parent.mkdir(exist_ok=True)
        blob.write_text(text)
        (snapshot / "config.json").symlink_to(Path("../../blobs") / blob.name)
    return repo


def test_finds_supported_and_unsupported_models(tmp_path, models):
    add_repo(tmp_path, "meta-llama/Meta-Llama-3-8B", models["llama-3-8b"]["raw_config"])
    add_repo(tmp_path, "deepseek-ai/DeepSeek-V3", models["deepseek-v3"]["raw_config"])
    add_repo(tmp_path, "google-bert/bert-base-uncased", {"model_type": "bert", "hidden_size": 768})
    add_repo(tmp_path, "gpt2", models["gpt2"]["raw_config"])
    found = {m.repo_id: m for m in find_cached_models(tmp_path)}
    assert set(found) == {
        "meta-llama/Meta-Llama-3-8B", "deepseek-ai/DeepSeek-V3", "google-bert/bert-base-uncased",
        "gpt2",
    }  # fmt: skip
    assert found["meta-llama/Meta-Llama-3-8B"].supported
    assert found["deepseek-ai/DeepSeek-V3"].model_type == "deepseek_v3"
    bert = found["google-bert/bert-base-uncased"]
    assert not bert.supported and "unsupported model_type 'bert'" in bert.problem
    # read offline into the same exact parameter count the reference implementation gives
    arch = load_cached_architecture(found["meta-llama/Meta-Llama-3-8B"])
    assert count_parameters(arch).total == models["llama-3-8b"]["computed_params_hf_impl"]
    assert arch.name == "Meta-Llama-3-8B"


def test_refs_main_wins_over_a_newer_snapshot(tmp_path, models):
    old = models["llama-3-8b"]["raw_config"]
    new = dict(old, num_hidden_layers=2)
    repo = add_repo(tmp_path, "org/model", old, commit="1" * 40)
    add_repo(tmp_path, "org/model", new, commit="2" * 40, main=False)
    os.utime(repo / "snapshots" / ("2" * 40), (2e9, 2e9))
    (model,) = find_cached_models(tmp_path)
    assert model.config_path.parent.name == "1" * 40
    # without refs/main the newest snapshot is read
    (repo / "refs" / "main").unlink()
    (model,) = find_cached_models(tmp_path)
    assert model.config_path.parent.name == "2" * 40


def test_skips_what_cannot_be_read_and_stays_bounded(tmp_path, models):
    add_repo(tmp_path, "org/broken-json", "{not json")
    add_repo(tmp_path, "org/a-list", "[1, 2, 3]")
    add_repo(tmp_path, "org/no-config", None)
    add_repo(tmp_path, "org/huge", json.dumps({"model_type": "llama", "pad": "x" * 2_000_000}))
    (tmp_path / "datasets--org--data").mkdir()
    (tmp_path / "models--org--no-snapshots").mkdir()
    (tmp_path / "version.txt").write_text("1")
    for i in range(30):
        add_repo(tmp_path, f"org/llama-{i:02d}", models["llama-3-8b"]["raw_config"])
    found = find_cached_models(tmp_path)
    assert [m.repo_id for m in found] == [f"org/llama-{i:02d}" for i in range(30)]
    assert len(find_cached_models(tmp_path, limit=10)) <= 10


def test_missing_cache_is_empty(tmp_path):
    assert find_cached_models(tmp_path / "nowhere") == []


def test_cache_location_follows_huggingface_hub(tmp_path):
    home = Path.home()
    assert hub_cache_dir({}) == home / ".cache" / "huggingface" / "hub"
    assert hub_cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/huggingface/hub")
    assert hub_cache_dir({"HF_HOME": "/h", "XDG_CACHE_HOME": "/x"}) == Path("/h/hub")
    assert hub_cache_dir({"HF_HUB_CACHE": "/c", "HF_HOME": "/h"}) == Path("/c")


def test_default_scan_reads_the_environment(tmp_path, monkeypatch, models):
    add_repo(tmp_path / "hub", "org/m", models["gpt2"]["raw_config"])
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    assert [m.repo_id for m in find_cached_models()] == ["org/m"]


def test_a_cached_config_with_a_byte_order_mark_is_read(tmp_path, models):
    # Editors on Windows save UTF-8 with a BOM; json.loads refuses it unless it is stripped.
    add_repo(tmp_path, "me/bom-llama", "\ufeff" + json.dumps(models["llama-3-8b"]["raw_config"]))
    (found,) = find_cached_models(tmp_path)
    assert found.supported, found.problem
    arch = load_cached_architecture(found)
    assert count_parameters(arch).total == models["llama-3-8b"]["computed_params_hf_impl"]
