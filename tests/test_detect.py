"""This-box detection over recorded tool outputs (tests/fixtures/smi), and the promise that a
missing or hung tool costs well under a second and changes nothing."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from llmscope.presets import detect
from llmscope.presets.detect import (
    LocalBox,
    detect_local_accelerators,
    match_accelerator,
    parse_mig_slices,
    parse_nvidia_smi_csv,
    parse_rocm_smi_csv,
    parse_rocm_smi_json,
    summarize,
)

FIXTURES = Path(__file__).parent / "fixtures" / "smi"


@pytest.fixture
def catalog() -> dict[str, float]:
    """Catalog id -> memory bytes of the built-in catalog that detection maps to."""
    memory = detect._catalog_memory()
    assert "nvidia-h100-sxm" in memory, "the built-in accelerator catalog did not load"
    return memory


def read(name: str) -> str:
    return (FIXTURES / name).read_text()


@pytest.mark.parametrize(
    "fixture, count, accel_id, name",
    [
        ("nvidia_smi_8x_h100_sxm.csv", 8, "nvidia-h100-sxm", "NVIDIA H100 80GB HBM3"),
        ("nvidia_smi_2x_h100_pcie.csv", 2, "nvidia-h100-pcie", "NVIDIA H100 PCIe"),
        ("nvidia_smi_8x_h200.csv", 8, "nvidia-h200-sxm", "NVIDIA H200"),
        ("nvidia_smi_a100_40gb.csv", 1, "nvidia-a100-sxm-40gb", "NVIDIA A100-SXM4-40GB"),
        ("nvidia_smi_rtx4090.csv", 1, "nvidia-rtx-4090", "NVIDIA GeForce RTX 4090"),
    ],
)
def test_recorded_nvidia_smi_maps_to_the_catalog(catalog, fixture, count, accel_id, name):
    box = summarize(parse_nvidia_smi_csv(read(fixture)), source="nvidia-smi")
    assert box is not None
    assert (box.count, box.accelerator_id, box.name, box.mig) == (count, accel_id, name, False)
    assert box.label == f"this box: {count} x {name}"


def test_h100_label_reads_as_the_issue_describes(catalog):
    box = summarize(parse_nvidia_smi_csv(read("nvidia_smi_8x_h100_sxm.csv")))
    assert box.label == "this box: 8 x NVIDIA H100 80GB HBM3"
    assert box.memory_mib == 81559


def test_cluster_updates_make_the_scenario_this_box(catalog):
    from llmscope.engine.scenario import Scenario
    from llmscope.presets.detect import cluster_updates

    box = summarize(parse_nvidia_smi_csv(read("nvidia_smi_8x_h200.csv")))
    cluster = Scenario().with_values(cluster_updates(box)).cluster
    assert (cluster.accelerator, cluster.count, cluster.per_node) == ("nvidia-h200-sxm", 8, 8)
    unknown = summarize(parse_nvidia_smi_csv(read("nvidia_smi_unknown.csv")))
    assert cluster_updates(unknown) == {}


def test_a100_pcie_is_not_mistaken_for_the_sxm_part(catalog):
    box = summarize(parse_nvidia_smi_csv(read("nvidia_smi_4x_a100_80gb_pcie.csv")))
    assert box.count == 4 and box.name == "NVIDIA A100 80GB PCIe"
    # PCIe cards have neither the SXM part's bandwidth nor its power: only a PCIe entry may match
    assert box.accelerator_id in {None, "nvidia-a100-pcie-80gb"}
    assert box.accelerator_id != "nvidia-a100-sxm-80gb"


def test_memory_picks_between_parts_with_one_name(catalog):
    assert match_accelerator("NVIDIA A100-SXM4-40GB", 40960) == "nvidia-a100-sxm-40gb"
    assert match_accelerator("NVIDIA A100-SXM4-80GB", 81920) == "nvidia-a100-sxm-80gb"
    # a device far smaller than the catalog part (an MI250X die, a MIG slice) is not that part
    assert match_accelerator("AMD Instinct MI250X", 65536) is None


def test_unknown_model_is_reported_without_a_catalog_id(catalog):
    box = summarize(parse_nvidia_smi_csv(read("nvidia_smi_unknown.csv")))
    assert box.count == 2 and box.accelerator_id is None
    assert box.name == "NVIDIA RTX 6000 Ada Generation" and box.memory_mib == 49140
    assert "not in the catalog" in box.label


def test_mixed_box_offers_the_most_numerous_model(catalog):
    box = summarize(parse_nvidia_smi_csv(read("nvidia_smi_mixed.csv")))
    assert (box.count, box.accelerator_id) == (2, "nvidia-rtx-4090")
    assert box.others == ("1 x NVIDIA GeForce RTX 3090",)


def test_mig_slices_are_reported_as_slices(catalog):
    devices = parse_nvidia_smi_csv(read("nvidia_smi_mig.csv"))
    assert devices[0].mig
    slices = parse_mig_slices(read("nvidia_smi_mig_list.txt"))
    assert slices == ["1g.5gb"] * 7
    box = summarize(devices, slices)
    assert box.mig and box.count == 7 and box.accelerator_id is None
    assert box.memory_mib == 5 * 1024
    assert "MIG 1g.5gb" in box.label and "NVIDIA A100-SXM4-40GB" in box.label


@pytest.mark.parametrize(
    "fixture", ["nvidia_smi_empty.csv", "nvidia_smi_no_driver.txt", "nvidia_smi_garbage.txt"]
)
def test_empty_or_odd_output_gives_nothing_or_only_sound_rows(catalog, fixture):
    devices = parse_nvidia_smi_csv(read(fixture))
    # the garbage file's only named row has no memory total: nothing usable anywhere
    assert devices == []
    assert summarize(devices) is None


def test_rocm_smi_json_and_csv(catalog):
    box = summarize(parse_rocm_smi_json(read("rocm_smi_8x_mi300x.json")), source="rocm-smi")
    assert (box.count, box.accelerator_id) == (8, "amd-mi300x")
    assert box.name == "AMD Instinct MI300X OAM"
    assert box.memory_mib == 205822885888 // 2**20
    csv_box = summarize(parse_rocm_smi_csv(read("rocm_smi_2x_mi300x.csv")))
    assert (csv_box.count, csv_box.accelerator_id) == (2, "amd-mi300x")
    assert parse_rocm_smi_json("not json") == [] and parse_rocm_smi_json("[1, 2]") == []


# --- the whole path through a fake tool on PATH ---------------------------------------------------


def fake_tool(bin_dir: Path, name: str, body: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / name
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)


def cat_tool(bin_dir: Path, query: str, listing: str | None = None, status: int = 0) -> None:
    listing_line = f'  -L) /bin/cat "{FIXTURES / listing}"; exit {status} ;;\n' if listing else ""
    fake_tool(
        bin_dir,
        "nvidia-smi",
        f'case "$1" in\n{listing_line}  *) /bin/cat "{FIXTURES / query}"; exit {status} ;;\nesac\n',
    )


def test_detects_a_box_through_nvidia_smi(catalog, tmp_path, monkeypatch):
    cat_tool(tmp_path / "bin", "nvidia_smi_8x_h100_sxm.csv")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    box = detect_local_accelerators(timeout_s=5, tools=("nvidia-smi", "rocm-smi"))
    assert box == LocalBox(
        8, "nvidia-h100-sxm", "NVIDIA H100 80GB HBM3", 81559,
        "this box: 8 x NVIDIA H100 80GB HBM3", False, "nvidia-smi",
    )  # fmt: skip


def test_detects_mig_slices_through_nvidia_smi(catalog, tmp_path, monkeypatch):
    cat_tool(tmp_path / "bin", "nvidia_smi_mig.csv", "nvidia_smi_mig_list.txt")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    box = detect_local_accelerators(timeout_s=5, tools=("nvidia-smi",))
    assert box.mig and box.count == 7


def test_failing_driver_falls_through_to_rocm_smi(catalog, tmp_path, monkeypatch):
    cat_tool(tmp_path / "bin", "nvidia_smi_no_driver.txt", status=9)
    fake_tool(tmp_path / "bin", "rocm-smi", f'/bin/cat "{FIXTURES / "rocm_smi_8x_mi300x.json"}"\n')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    box = detect_local_accelerators(timeout_s=5, tools=("nvidia-smi", "rocm-smi"))
    assert (box.count, box.accelerator_id, box.source) == (8, "amd-mi300x", "rocm-smi")


def test_no_tools_means_none(tmp_path, monkeypatch):
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    started = time.monotonic()
    assert detect_local_accelerators(tools=("nvidia-smi", "rocm-smi")) is None
    assert time.monotonic() - started < 1.0


def test_switched_off_by_environment(tmp_path, monkeypatch):
    cat_tool(tmp_path / "bin", "nvidia_smi_8x_h100_sxm.csv")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("LLMSCOPE_DETECT", "0")
    assert detect_local_accelerators(tools=("nvidia-smi",)) is None


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in {"Z", "X"}


def test_hanging_nvidia_smi_is_abandoned_within_the_timeout(tmp_path, monkeypatch):
    """A behavioural bound on the timeout, not a benchmark: a tool that sleeps 30 s costs the
    timeout (0.5 s here) and no more, returns None, and leaves no process behind."""
    pid_file = tmp_path / "sleep.pid"
    fake_tool(
        tmp_path / "bin",
        "nvidia-smi",
        f'/bin/sleep 30 &\necho $! > "{pid_file}"\nwait\n',
    )
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    environ = dict(os.environ)
    started = time.monotonic()
    box = detect_local_accelerators(timeout_s=0.5, tools=("nvidia-smi", "rocm-smi"))
    elapsed = time.monotonic() - started
    assert box is None
    assert elapsed < 1.0
    assert dict(os.environ) == environ
    # the tool's own child (the sleep) was killed with its process group
    deadline = time.monotonic() + 2
    while pid_file.exists() and _alive(int(pid_file.read_text())) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert pid_file.exists() and not _alive(int(pid_file.read_text()))


# --- NVML, through a stand-in pynvml module -------------------------------------------------------


def fake_pynvml(monkeypatch, devices, hang: threading.Event | None = None):
    import importlib.machinery
    import sys
    import types

    module = types.ModuleType("pynvml")
    module.__spec__ = importlib.machinery.ModuleSpec("pynvml", loader=None)

    def init():
        if hang is not None:
            hang.wait(30)

    module.nvmlInit = init
    module.nvmlShutdown = lambda: None
    module.nvmlDeviceGetCount = lambda: len(devices)
    module.nvmlDeviceGetHandleByIndex = lambda i: i
    module.nvmlDeviceGetName = lambda h: devices[h][0].encode()
    module.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(total=devices[h][1])
    module.nvmlDeviceGetMigMode = lambda h: (0, 0)
    monkeypatch.setitem(sys.modules, "pynvml", module)


def test_nvml_when_importable(catalog, monkeypatch):
    # NVML reports memory in bytes: 81559 MiB for an H100 80GB HBM3
    fake_pynvml(monkeypatch, [("NVIDIA H100 80GB HBM3", 81559 * 2**20)] * 4)
    box = detect_local_accelerators(timeout_s=2, tools=("nvml",))
    assert (box.count, box.accelerator_id, box.source) == (4, "nvidia-h100-sxm", "nvml")


def test_hanging_nvml_is_abandoned_within_the_timeout(monkeypatch, tmp_path):
    release = threading.Event()
    fake_pynvml(monkeypatch, [("NVIDIA H100 80GB HBM3", 81559 * 2**20)], hang=release)
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    started = time.monotonic()
    try:
        assert detect_local_accelerators(timeout_s=0.3) is None
        assert time.monotonic() - started < 1.0
    finally:
        release.set()  # let the abandoned thread finish
