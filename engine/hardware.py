"""Accelerator catalog: datasheet figures for the accelerators a scenario can run on.

The catalog is data (engine/data/accelerators.toml), one table per accelerator with its source;
the conventions every figure follows are written at the top of that file:

- tensor throughput is DENSE (NVIDIA datasheets since Ampere headline the 2:4 sparsity figure,
  twice the dense one; it is never used);
- `memory_gb` is the datasheet figure ("80GB"), which for HBM and GDDR parts is a binary size:
  memory_bytes = memory_gb x 2^30. An "80GB" H100 reports 81,559 MiB (79.6 GiB) in nvidia-smi
  and an MI300X 191.98 GiB in rocm-smi; reading the figure as decimal GB would understate every
  fit by 7%;
- `fp32_tflops` is non-tensor (vector) fp32;
- `interconnect_gbs` is the intra-node bandwidth per accelerator, both directions together;
- `uncertain` names the fields whose figure was not confirmed from a primary source.

Users add or override accelerators with a TOML file of the same shape (`load_catalog`): an entry
with a built-in id changes only the fields it gives; a bad entry is reported and skipped.
"""

from __future__ import annotations

import difflib
import functools
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from llmscope.engine.errors import EngineInputError, describe_validation_error

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

# The file name users put in their config directory, beside their presets and themes.
USER_CATALOG_FILENAME = "accelerators.toml"

_TERA = 1e12
_GIB = 1024**3

# strict: a TOML string or boolean is not a number (lax pydantic would read true as 1.0);
# integers are still accepted where a float is expected.
_Positive = Annotated[float, Field(strict=True, gt=0)]
_Text = Annotated[str, Field(strict=True, min_length=1)]

# Fields a figure can be marked uncertain on: the numbers (and the price).
FIGURE_FIELDS = (
    "memory_gb",
    "memory_bandwidth_gbs",
    "bf16_tflops",
    "fp8_tflops",
    "int8_tops",
    "fp32_tflops",
    "tdp_w",
    "interconnect_gbs",
    "price_usd_per_hour",
)

_ID_PATTERN = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def _slug(value: str) -> str:
    if not _ID_PATTERN.fullmatch(value):
        raise ValueError(
            f"must be lowercase letters, digits and single dashes, like nvidia-h100-sxm "
            f"(got {value!r})"
        )
    return value


DTYPES = ("bf16", "fp16", "fp8", "int8", "int4", "fp32")


class Accelerator(BaseModel):
    """One accelerator's datasheet figures (per device; a TPU chip, one GPU of a GB200)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(
        max_length=100,
        description="Catalog id: lowercase letters, digits and single dashes (nvidia-h100-sxm).",
    )
    name: _Text = Field(description="Marketing name with memory size.")
    aliases: tuple[str, ...] = Field(
        (), description="Other ids that find this entry (those of shared/reference/hardware.json)."
    )
    vendor: _Text = Field(description="NVIDIA, AMD, Intel, Google, Huawei, ...")
    memory_gb: _Positive = Field(
        description="Memory per device as on the datasheet, in decimal GB (as marketed)."
    )
    memory_bandwidth_gbs: _Positive = Field(description="Peak memory bandwidth in decimal GB/s.")
    bf16_tflops: _Positive = Field(
        description="Dense bf16 tensor throughput in TFLOP/s (fp16 on parts without bf16)."
    )
    fp8_tflops: _Positive | None = Field(
        None, description="Dense fp8 tensor throughput in TFLOP/s; None without fp8 tensor cores."
    )
    int8_tops: _Positive | None = Field(
        None, description="Dense int8 tensor throughput in TOPS; None without int8 tensor cores."
    )
    fp32_tflops: _Positive | None = Field(
        None, description="Non-tensor (vector) fp32 TFLOP/s; None where the vendor gives none."
    )
    tdp_w: _Positive | None = Field(
        None, description="Board or module power in W; None where the vendor gives none."
    )
    interconnect_gbs: _Positive = Field(
        description="Intra-node bandwidth per device in GB/s, both directions together "
        "(NVLink, Infinity Fabric, ICI; PCIe for cards without a direct link)."
    )
    price_usd_per_hour: _Positive | None = Field(
        None, description="Public cloud list price per accelerator-hour in USD."
    )
    price_date: str | None = Field(
        None, pattern=r"^\d{4}(-(0[1-9]|1[0-2]))?$", description="When the price held: YYYY-MM."
    )
    price_source: str | None = Field(None, description="Where the price comes from.")
    gemm_efficiency: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Achievable fraction of the dense bf16 peak on large GEMMs, sustained, from a "
        "public GEMM benchmark (training performance model); None uses a generic 0.70.",
    )
    gemm_efficiency_shape: tuple[int, int, int] | None = Field(
        None, description="The (M, N, K) GEMM at which gemm_efficiency was measured."
    )
    fp8_gemm_efficiency: float | None = Field(
        None, gt=0, le=1, description="As gemm_efficiency, for fp8 GEMMs against the fp8 peak."
    )
    attention_forward_efficiency: float | None = Field(
        None, gt=0, le=1, description="Flash attention forward, achieved / dense bf16 peak."
    )
    attention_backward_efficiency: float | None = Field(
        None, gt=0, le=1, description="Flash attention backward, achieved / dense bf16 peak."
    )
    efficiency_source: str | None = Field(
        None, description="Where the GEMM and attention efficiencies come from."
    )
    source: _Text = Field(description="Datasheet (name or URL) the figures come from.")
    notes: str = Field("", description="What a reader of the figures should know.")
    uncertain: tuple[str, ...] = Field(
        (), description="Fields whose figure is not confirmed from a primary source."
    )

    @field_validator("id")
    @classmethod
    def _id_is_a_slug(cls, value: str) -> str:
        return _slug(value)

    @field_validator("aliases")
    @classmethod
    def _aliases_are_slugs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_slug(alias) for alias in value)

    @field_validator("uncertain")
    @classmethod
    def _uncertain_names_figures(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name not in FIGURE_FIELDS]
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)} not a figure field; allowed: {', '.join(FIGURE_FIELDS)}"
            )
        return tuple(dict.fromkeys(value))  # keep order, drop repeats

    @property
    def memory_bytes(self) -> float:
        """Memory in bytes: the datasheet's "GB" are GiB (see the module docstring)."""
        return self.memory_gb * _GIB

    @property
    def memory_bandwidth_bytes_per_s(self) -> float:
        return self.memory_bandwidth_gbs * 1e9

    def is_uncertain(self, field: str) -> bool:
        """Whether `field`'s figure is not confirmed from a primary source."""
        return field in self.uncertain

    def peak_flops(self, dtype: str) -> float:
        """Dense peak in FLOP/s (or OP/s for integers) for a compute dtype.

        bf16 and fp16 share the 16-bit tensor figure; fp8 falls back to it on parts without fp8
        tensor cores; int8 and int4 use the int8 figure (no catalog part lists int4 separately),
        else fp8, else bf16 (weights are then dequantised and multiplied in the wider type).
        """
        key = dtype.lower()
        if key in ("bf16", "fp16"):
            tflops = self.bf16_tflops
        elif key == "fp8":
            tflops = self.fp8_tflops or self.bf16_tflops
        elif key in ("int8", "int4"):
            tflops = self.int8_tops or self.fp8_tflops or self.bf16_tflops
        elif key == "fp32":
            if self.fp32_tflops is None:
                raise EngineInputError(
                    f"dtype: {self.name} has no published fp32 figure in the catalog; "
                    "choose bf16, fp16, fp8 or int8, or give fp32_tflops in your accelerators file"
                )
            tflops = self.fp32_tflops
        else:
            raise EngineInputError(f"dtype: must be one of {', '.join(DTYPES)} (got {dtype!r})")
        return tflops * _TERA


class Catalog:
    """Accelerators by id, in catalog order; immutable."""

    __slots__ = ("_by_id", "_aliases")

    def __init__(self, accelerators: Mapping[str, Accelerator] | list[Accelerator]) -> None:
        items = accelerators.values() if isinstance(accelerators, Mapping) else accelerators
        self._by_id: Mapping[str, Accelerator] = MappingProxyType({a.id: a for a in items})
        # An alias never hides a real id; the first entry to claim an alias keeps it.
        aliases: dict[str, str] = {}
        for accelerator in self._by_id.values():
            for alias in accelerator.aliases:
                if alias not in self._by_id:
                    aliases.setdefault(alias, accelerator.id)
        self._aliases: Mapping[str, str] = MappingProxyType(aliases)

    def resolve(self, accelerator_id: str) -> str | None:
        """The catalog id an id or alias names; None when neither."""
        if accelerator_id in self._by_id:
            return accelerator_id
        return self._aliases.get(accelerator_id)

    def get(self, accelerator_id: str) -> Accelerator:
        """The accelerator with this id (or alias); an unknown id names the closest known ones."""
        found = self.resolve(accelerator_id)
        if found is not None:
            return self._by_id[found]
        known = list(self._by_id)
        # Ids that contain what was typed ("h100" -> nvidia-h100-sxm) come first, then spelling.
        typed = str(accelerator_id)
        contained = [i for i in known if typed and typed in i]
        spelled = difflib.get_close_matches(typed, known, n=3, cutoff=0.5)
        close = list(dict.fromkeys(contained + spelled))[:3]
        hint = f"closest: {', '.join(close)}" if close else f"known: {', '.join(self._by_id)}"
        raise EngineInputError(
            f"cluster.accelerator: unknown accelerator {accelerator_id!r}; {hint}"
        ) from None

    def ids(self) -> list[str]:
        return list(self._by_id)

    def __iter__(self) -> Iterator[Accelerator]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, accelerator_id: object) -> bool:
        return isinstance(accelerator_id, str) and self.resolve(accelerator_id) is not None

    def __repr__(self) -> str:
        return f"Catalog({len(self)} accelerators)"


@dataclass(frozen=True, slots=True)
class CatalogLoad:
    """A catalog and the problems found while reading the user's file (one line each)."""

    catalog: Catalog
    problems: tuple[str, ...]


def _entries(document: dict[str, Any], where: str) -> tuple[dict[str, Any], list[str]]:
    """The `[accelerators.<id>]` tables of a parsed file, and problems with its shape."""
    problems = [
        f"{where}: {key}: not a known top-level table (accelerators go under [accelerators.<id>])"
        for key in document
        if key != "accelerators"
    ]
    tables = document.get("accelerators", {})
    if not isinstance(tables, dict):
        return {}, [*problems, f"{where}: accelerators: must be a table of [accelerators.<id>]"]
    entries = {}
    for accelerator_id, table in tables.items():
        if isinstance(table, dict):
            entries[accelerator_id] = table
        else:
            problems.append(
                f"{where}: accelerator {accelerator_id}: must be a table [accelerators."
                f"{accelerator_id}] of fields (got {table!r})"
            )
    return entries, problems


def _validate(label: str, data: dict[str, Any], where: str) -> Accelerator:
    """An Accelerator from a table's fields; ValueError "WHERE: accelerator LABEL: FIELD: why"."""
    try:
        return Accelerator.model_validate(data)
    except ValidationError as exc:
        # Only a new id can miss a field (an override is merged onto a complete entry).
        why = describe_validation_error(exc).replace(
            ": Field required", ": missing (a new accelerator, not a built-in id, needs it)"
        )
        raise ValueError(f"{where}: accelerator {label}: {why}") from None


def _table_id(table_name: str, fields: dict[str, Any], where: str) -> None:
    """The id is the table name; an `id` field that says otherwise is a mistake worth naming."""
    if "id" in fields and fields["id"] != table_name:
        raise ValueError(
            f"{where}: accelerator {table_name}: id: must match the table name "
            f"[accelerators.{table_name}] (got {fields['id']!r}); leave it out"
        )


@functools.cache
def builtin_catalog() -> Catalog:
    """The catalog bundled with the engine (engine/data/accelerators.toml)."""
    text = resources.files("llmscope.engine.data").joinpath("accelerators.toml").read_text("utf-8")
    entries, problems = _entries(tomllib.loads(text), "accelerators.toml")
    accelerators = []
    for accelerator_id, fields in entries.items():
        try:
            _table_id(accelerator_id, fields, "accelerators.toml")
            data = {**fields, "id": accelerator_id}
            accelerators.append(_validate(accelerator_id, data, "accelerators.toml"))
        except ValueError as exc:
            problems.append(str(exc))
    if problems:  # the bundled file is checked by the tests; this is a packaging error
        raise RuntimeError("; ".join(problems))
    return Catalog(accelerators)


def find_accelerator(accelerator_id: str) -> Accelerator:
    """A built-in accelerator by id (EngineInputError naming close ids if unknown)."""
    return builtin_catalog().get(accelerator_id)


def _merge(base: Accelerator, fields: dict[str, Any], where: str) -> dict[str, Any]:
    """A user entry laid over a built-in one: only the fields it gives change.

    A figure the user gives is theirs, so it loses the built-in's uncertain mark (unless their
    entry marks it); a new price without a date drops the old date; the source says which
    fields came from the user's file.
    """
    merged = base.model_dump()
    merged.update(fields)
    if "uncertain" not in fields:
        merged["uncertain"] = [name for name in base.uncertain if name not in fields]
    if "price_usd_per_hour" in fields and "price_date" not in fields:
        merged["price_date"] = None
    if "price_usd_per_hour" in fields and "price_source" not in fields:
        merged["price_source"] = where
    if "source" not in fields:
        given = ", ".join(fields)
        merged["source"] = f"{base.source}; {given} from {where}"
    return merged


def load_catalog(user_file: Path | None) -> CatalogLoad:
    """The built-in catalog with the user's additions and overrides from `user_file`.

    The file has the built-in file's shape; for example

        [accelerators.nvidia-h100-sxm]      # a built-in id (or alias): only these fields change
        price_usd_per_hour = 2.10
        price_date = "2026-10"

        [accelerators.acme-x1]              # a new id: name, vendor and the figures are needed
        name = "Acme X1 64GB"
        vendor = "Acme"
        memory_gb = 64
        memory_bandwidth_gbs = 2000
        bf16_tflops = 400
        interconnect_gbs = 400

    A missing file (or None) gives the built-in catalog and no problems. A TOML syntax error gives
    the built-in catalog and one problem naming the file and line. A bad entry is reported as
    "FILE: accelerator ID: FIELD: reason" and skipped; the good entries load.
    """
    builtin = builtin_catalog()
    if user_file is None:
        return CatalogLoad(builtin, ())
    path = Path(user_file)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return CatalogLoad(builtin, ())
    except (OSError, UnicodeDecodeError) as exc:
        return CatalogLoad(builtin, (f"{where}: cannot read the file: {exc}",))
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The message carries "(at line L, column C)"; the built-in catalog stays usable.
        return CatalogLoad(builtin, (f"{where}: not valid TOML: {exc}",))

    entries, problems = _entries(document, where)
    by_id = {a.id: a for a in builtin}
    for table_name, fields in entries.items():
        # A table may name a built-in by an alias; it then overrides that entry.
        accelerator_id = builtin.resolve(table_name) or table_name
        base = by_id.get(accelerator_id)
        try:
            _table_id(table_name, fields, where)
            fields = {name: value for name, value in fields.items() if name != "id"}
            if base is None:
                data = {"source": f"user file {where}", **fields, "id": accelerator_id}
            else:
                data = _merge(base, fields, where)
            by_id[accelerator_id] = _validate(table_name, data, where)
        except ValueError as exc:
            problems.append(str(exc))
    return CatalogLoad(Catalog(by_id), tuple(problems))
