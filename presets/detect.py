"""This box: which accelerators are installed, mapped to the catalog, found quickly or not at all.

Tried in order, within one overall deadline: NVML through `pynvml` (only when it is importable; it
is not a dependency), `nvidia-smi --query-gpu=... --format=csv,noheader,nounits`, then
`rocm-smi --showproductname --showmeminfo vram --json`. A missing tool, a box without a driver, a
hung or odd tool: detection returns None and changes nothing. A hung tool is killed with its
process group when the deadline passes.

Set LLMSCOPE_DETECT=0 to skip detection altogether.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MIB = 1024**2

# Reported device name -> catalog id. The reported memory then picks between entries that share a
# name (A100 40 GB and 80 GB) and rejects a device whose memory is far from the catalog's (an MI250X
# shows up as two 64 GB dies; a MIG slice as a fraction of its GPU).
_NAME_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"GB200", "nvidia-gb200"),
    (r"\bB200\b", "nvidia-b200"),
    (r"H200(?!.*NVL)", "nvidia-h200-sxm"),
    (r"H100.*PCIe", "nvidia-h100-pcie"),
    (r"H100(?!.*(PCIe|NVL))", "nvidia-h100-sxm"),
    (r"H800(?!.*PCIe)", "nvidia-h800-sxm"),
    (r"A100.*PCIe", "nvidia-a100-pcie-80gb"),
    (r"A100.*PCIe", "nvidia-a100-pcie-40gb"),
    (r"A100(?!.*PCIe)", "nvidia-a100-sxm-40gb"),
    (r"A100(?!.*PCIe)", "nvidia-a100-sxm-80gb"),
    (r"A800(?!.*PCIe)", "nvidia-a800-sxm"),
    (r"L40S", "nvidia-l40s"),
    (r"RTX 4090(?! D)", "nvidia-rtx-4090"),
    (r"RTX 3090(?! Ti)", "nvidia-rtx-3090"),
    (r"V100.*SXM2", "nvidia-v100-sxm2"),
    (r"MI325X", "amd-mi325x"),
    (r"MI300X", "amd-mi300x"),
    (r"MI250X", "amd-mi250x"),
)
# Reported memory / catalog memory: drivers report binary units less what they reserve (81559 MiB
# = 85.5e9 bytes for an "80GB" H100: 1.07x the decimal datasheet figure, 0.996x the binary one).
# The band accepts either reading of the catalog's GB and rejects half- or double-sized parts.
_MEMORY_RATIO = (0.85, 1.20)


@dataclass(frozen=True, slots=True)
class Device:
    """One accelerator as a tool reports it."""

    name: str
    memory_mib: int
    mig: bool = False


@dataclass(frozen=True, slots=True)
class LocalBox:
    """The accelerators of this machine, as offered for the cluster."""

    count: int
    accelerator_id: str | None  # catalog id; None for a model the catalog lacks or MIG slices
    name: str  # as reported
    memory_mib: int  # per device
    label: str  # "this box: 8 x NVIDIA H100 80GB HBM3"
    mig: bool
    source: str = ""  # "nvml", "nvidia-smi" or "rocm-smi"
    others: tuple[str, ...] = ()  # devices of other models on a mixed box, "1 x NVIDIA ..."


def cluster_updates(box: LocalBox) -> dict[str, object]:
    """Dotted-key updates that make the scenario's cluster this box (one node of `count`), or
    an empty dict when the box's accelerator is not in the catalog."""
    if box.accelerator_id is None:
        return {}
    return {
        "cluster.accelerator": box.accelerator_id,
        "cluster.count": box.count,
        "cluster.per_node": box.count,
    }


# --- parsing recorded outputs ---------------------------------------------------------------------

_NUMBER = re.compile(r"(\d+(?:\.\d+)?)")


def _mib(field: str) -> int | None:
    """'81559', '81559 MiB' or '80 GiB' -> MiB; None for '[N/A]' and other non-numbers."""
    match = _NUMBER.search(field)
    if not match:
        return None
    value = float(match.group(1))
    if "gib" in field.lower():
        value *= 1024
    return int(value) if value > 0 else None


def _clean(text: str) -> str:
    return "".join(ch for ch in text if ch.isprintable()).strip()


def parse_nvidia_smi_csv(text: str) -> list[Device]:
    """Rows of `--query-gpu=name,memory.total,mig.mode.current[,...] --format=csv,noheader`."""
    devices = []
    for row in csv.reader(io.StringIO(text)):
        if len(row) < 2:
            continue
        name = _clean(row[0])
        memory = _mib(row[1])
        if not name or memory is None or not re.search(r"[A-Za-z]", name):
            continue
        mig = len(row) > 2 and row[2].strip().lower() == "enabled"
        devices.append(Device(name, memory, mig))
    return devices


_MIG_LINE = re.compile(r"^\s+MIG\s+(\S+)\s+Device\s+\d+:", re.MULTILINE)
_MIG_PROFILE_GB = re.compile(r"\.(\d+)gb$")


def parse_mig_slices(text: str) -> list[str]:
    """MIG profiles listed by `nvidia-smi -L` ('1g.5gb', ...), one per slice."""
    return _MIG_LINE.findall(text)


def parse_rocm_smi_json(text: str) -> list[Device]:
    """`rocm-smi --showproductname --showmeminfo vram --json`: {"card0": {...}, ...}."""
    try:
        data = json.loads(text)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    return [d for card in data.values() if isinstance(card, dict) if (d := _rocm_card(card))]


def parse_rocm_smi_csv(text: str) -> list[Device]:
    """The same query with `--csv`: a header row, then one row per card."""
    rows = list(csv.DictReader(io.StringIO(text)))
    return [d for row in rows if (d := _rocm_card(row))]


def _rocm_card(card: dict) -> Device | None:
    fields = {str(k).strip().lower(): str(v) for k, v in card.items() if v is not None}
    name = _clean(fields.get("card series", "") or fields.get("card model", ""))
    total = fields.get("vram total memory (b)", "")
    if not name or not total.strip().isdigit():
        return None
    return Device(name, int(total) // MIB)


# --- catalog mapping ------------------------------------------------------------------------------


def _catalog_memory() -> dict[str, float]:
    """Catalog id -> memory in bytes."""
    from llmscope.engine.hardware import builtin_catalog

    try:
        return {a.id: float(a.memory_bytes) for a in builtin_catalog()}
    except Exception:  # a broken catalog must not break start-up
        return {}


def match_accelerator(
    name: str, memory_mib: int, catalog_memory: dict[str, float] | None = None
) -> str | None:
    """Catalog id for a reported device name and memory, or None."""
    catalog = _catalog_memory() if catalog_memory is None else catalog_memory
    reported = memory_mib * MIB
    best: tuple[float, str] | None = None
    for pattern, accel_id in _NAME_PATTERNS:
        if accel_id not in catalog or not re.search(pattern, name, re.IGNORECASE):
            continue
        ratio = reported / catalog[accel_id] if catalog[accel_id] else 0
        if not _MEMORY_RATIO[0] <= ratio <= _MEMORY_RATIO[1]:
            continue
        distance = abs(ratio - 1.0)
        if best is None or distance < best[0]:
            best = (distance, accel_id)
    return best[1] if best else None


def summarize(
    devices: Sequence[Device],
    mig_slices: Sequence[str] = (),
    source: str = "",
    catalog_memory: dict[str, float] | None = None,
) -> LocalBox | None:
    """The box as one cluster: the most numerous model (ties: more memory); others listed."""
    if not devices:
        return None
    groups = Counter((d.name, d.memory_mib) for d in devices)
    (name, memory), count = max(groups.items(), key=lambda kv: (kv[1], kv[0][1]))
    others = tuple(
        f"{n} x {other}" for (other, mib), n in groups.items() if (other, mib) != (name, memory)
    )
    mig = any(d.mig for d in devices if d.name == name)
    if mig:
        # A MIG slice is not a catalog accelerator: report the slices, offer no catalog id.
        slices = Counter(mig_slices)
        if slices:
            profile, n = slices.most_common(1)[0]
            gb = _MIG_PROFILE_GB.search(profile)
            slice_mib = int(gb.group(1)) * 1024 if gb else memory
            label = f"this box: {n} x MIG {profile} on {name} (MIG slices, not in the catalog)"
            name = f"{name} MIG {profile}"
            return LocalBox(n, None, name, slice_mib, label, True, source, others)
        label = f"this box: {count} x {name} (MIG enabled, no slices)"
        return LocalBox(count, None, name, memory, label, True, source, others)
    accel_id = match_accelerator(name, memory, catalog_memory)
    label = f"this box: {count} x {name}"
    if accel_id is None:
        label += " (not in the catalog)"
    return LocalBox(count, accel_id, name, memory, label, False, source, others)


# --- running the tools ----------------------------------------------------------------------------


def _run(command: Sequence[str], deadline: float) -> str | None:
    """stdout of a command if it succeeds before the deadline; else None, the command killed."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return None
    try:
        proc = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so a hung tool's children die too
        )
    except OSError:
        return None
    try:
        out, _ = proc.communicate(timeout=remaining)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.kill()
        proc.wait()
        return None
    if proc.returncode != 0:
        return None
    return out.decode("utf-8", errors="replace")


def _nvml(deadline: float) -> list[Device] | None:
    """Devices through NVML, in a thread so that a stuck driver cannot hold up start-up."""
    import importlib.util

    try:
        if importlib.util.find_spec("pynvml") is None:
            return None
    except (ImportError, ValueError):  # a broken or half-installed module
        return None
    found: list[Device] = []
    done = threading.Event()

    def query() -> None:
        try:
            import pynvml

            pynvml.nvmlInit()
            try:
                for i in range(pynvml.nvmlDeviceGetCount()):
                    handle = pynvml.nvmlDeviceGetHandleByIndex(i)
                    name = pynvml.nvmlDeviceGetName(handle)
                    if isinstance(name, bytes):
                        name = name.decode(errors="replace")
                    total = pynvml.nvmlDeviceGetMemoryInfo(handle).total
                    try:
                        mig = bool(pynvml.nvmlDeviceGetMigMode(handle)[0])
                    except Exception:  # not MIG-capable
                        mig = False
                    found.append(Device(str(name), int(total) // MIB, mig))
            finally:
                pynvml.nvmlShutdown()
        except Exception:
            found.clear()
        finally:
            done.set()

    threading.Thread(target=query, daemon=True, name="llmscope-nvml").start()
    if not done.wait(max(0.0, deadline - time.monotonic())):
        return None
    return found or None


def _mig_slices(deadline: float) -> list[str]:
    tool = shutil.which("nvidia-smi")
    out = _run([tool, "-L"], deadline) if tool else None
    return parse_mig_slices(out) if out else []


def detect_local_accelerators(
    timeout_s: float = 1.0, tools: Iterable[str] = ("nvml", "nvidia-smi", "rocm-smi")
) -> LocalBox | None:
    """This box's accelerators, or None. Never raises; returns within about `timeout_s`."""
    if os.environ.get("LLMSCOPE_DETECT", "").strip() == "0":
        return None
    deadline = time.monotonic() + max(0.0, timeout_s)
    try:
        for tool in tools:
            if time.monotonic() >= deadline:
                return None
            box = _detect_with(tool, deadline)
            if box is not None:
                return box
    except Exception:  # detection is a convenience: nothing it meets may stop the app
        return None
    return None


def _nvidia_box(devices: list[Device] | None, source: str, deadline: float) -> LocalBox | None:
    """The box of NVIDIA `devices` (None: none found), with their MIG slices when any has MIG on."""
    if not devices:
        return None
    slices = _mig_slices(deadline) if any(d.mig for d in devices) else []
    return summarize(devices, slices, source)


def _detect_with(tool: str, deadline: float) -> LocalBox | None:
    if tool == "nvml":
        return _nvidia_box(_nvml(deadline), "nvml", deadline)
    if tool == "nvidia-smi":
        exe = shutil.which("nvidia-smi")
        if not exe:
            return None
        query = "--query-gpu=name,memory.total,mig.mode.current,pci.bus_id"
        out = _run([exe, query, "--format=csv,noheader,nounits"], deadline)
        return _nvidia_box(parse_nvidia_smi_csv(out) if out else [], "nvidia-smi", deadline)
    if tool == "rocm-smi":
        exe = shutil.which("rocm-smi")
        if not exe:
            return None
        out = _run([exe, "--showproductname", "--showmeminfo", "vram", "--json"], deadline)
        devices = parse_rocm_smi_json(out) if out else []
        if not devices and out is not None:
            out = _run([exe, "--showproductname", "--showmeminfo", "vram", "--csv"], deadline)
            devices = parse_rocm_smi_csv(out) if out else []
        return summarize(devices, (), "rocm-smi")
    return None
