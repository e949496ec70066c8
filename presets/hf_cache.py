"""Models already on this box: config.json files in the local Hugging Face cache, read offline.

The hub cache keeps one directory per repository, `models--ORG--NAME/`, with `refs/main` naming
the current commit and `snapshots/<commit>/config.json` (huggingface_hub's cache layout). Its
location follows huggingface_hub: $HF_HUB_CACHE, else $HF_HOME/hub, else
$XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.

The scan is bounded: only the top level of the cache is listed, at most `limit` repositories are
read, config files over 1 MiB and anything unreadable are skipped. Nothing touches the network.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from llmscope.engine.architecture import Architecture
from llmscope.engine.errors import EngineInputError
from llmscope.engine.hf_import import architecture_from_hf_config

MAX_CONFIG_BYTES = 1024 * 1024
DEFAULT_LIMIT = 500


@dataclass(frozen=True, slots=True)
class CachedModel:
    repo_id: str  # "meta-llama/Llama-3.1-8B"
    config_path: Path
    model_type: str | None
    supported: bool  # llmscope can build an Architecture from it
    problem: str = ""  # why not, when not supported


def hub_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where huggingface_hub keeps downloaded repositories on this machine."""
    env = os.environ if environ is None else environ
    if env.get("HF_HUB_CACHE"):
        return Path(env["HF_HUB_CACHE"]).expanduser()
    if env.get("HUGGINGFACE_HUB_CACHE"):  # the older name huggingface_hub still honours
        return Path(env["HUGGINGFACE_HUB_CACHE"]).expanduser()
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser() / "hub"
    cache = Path(env["XDG_CACHE_HOME"]).expanduser() if env.get("XDG_CACHE_HOME") else None
    return (cache or Path.home() / ".cache") / "huggingface" / "hub"


def _repo_id(directory_name: str) -> str | None:
    """'models--meta-llama--Llama-3.1-8B' -> 'meta-llama/Llama-3.1-8B'."""
    kind, _, rest = directory_name.partition("--")
    if kind != "models" or not rest:
        return None
    return rest.replace("--", "/")


def _snapshot_config(repo_dir: Path) -> Path | None:
    """config.json of the commit refs/main points to, else of the newest snapshot with one."""
    snapshots = repo_dir / "snapshots"
    try:
        main = (repo_dir / "refs" / "main").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        main = ""
    if main and "/" not in main and main not in {".", ".."}:
        candidate = snapshots / main / "config.json"
        if candidate.is_file():
            return candidate
    try:
        entries = [e for e in os.scandir(snapshots) if e.is_dir()]
    except OSError:
        return None
    entries.sort(key=_mtime, reverse=True)
    for entry in entries:
        candidate = Path(entry.path) / "config.json"
        if candidate.is_file():
            return candidate
    return None


def _mtime(entry: os.DirEntry) -> float:
    try:
        return entry.stat().st_mtime
    except OSError:
        return 0.0


def read_config(path: Path) -> dict:
    """The parsed config.json; EngineInputError naming the file when it cannot be used."""
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise EngineInputError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes; not a config")
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, EngineInputError):
            raise
        raise EngineInputError(f"{path}: not readable as JSON ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise EngineInputError(f"{path}: a config.json must hold a JSON object")
    return data


def find_cached_models(
    cache_dir: Path | None = None, limit: int = DEFAULT_LIMIT
) -> list[CachedModel]:
    """Models in the local Hugging Face cache, sorted by repository id."""
    root = hub_cache_dir() if cache_dir is None else cache_dir
    try:
        names = sorted(e.name for e in os.scandir(root) if e.name.startswith("models--"))
    except OSError:
        return []
    found: list[CachedModel] = []
    for name in names[: max(0, limit)]:
        repo_id = _repo_id(name)
        if repo_id is None:
            continue
        config_path = _snapshot_config(root / name)
        if config_path is None:
            continue
        try:
            config = read_config(config_path)
        except EngineInputError:
            continue
        model_type = config.get("model_type")
        model_type = model_type if isinstance(model_type, str) else None
        try:
            architecture_from_hf_config(config, name=repo_id.rsplit("/", 1)[-1])
            supported, problem = True, ""
        except EngineInputError as exc:
            supported, problem = False, str(exc)
        found.append(CachedModel(repo_id, config_path, model_type, supported, problem))
    return found


def load_cached_architecture(model: CachedModel) -> Architecture:
    """The Architecture of a cached model (EngineInputError if it cannot be used)."""
    config = read_config(model.config_path)
    return architecture_from_hf_config(config, name=model.repo_id.rsplit("/", 1)[-1])
