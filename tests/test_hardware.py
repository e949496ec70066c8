"""Accelerator catalog: a datasheet check of every entry against tests/data/hardware.json,
the dense-not-sparse rule, peak_flops fallbacks, and the user's override file."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from llmscope.engine.errors import EngineInputError
from llmscope.engine.hardware import (
    Accelerator,
    Catalog,
    CatalogLoad,
    builtin_catalog,
    find_accelerator,
    load_catalog,
)

REFERENCE = Path(__file__).resolve().parent / "data"

# Reference id -> catalog id. Every reference entry must appear here (checked below).
REF_TO_CATALOG = {
    "nvidia-v100-sxm2-32gb": "nvidia-v100-sxm2",
    "nvidia-a100-40gb-sxm": "nvidia-a100-sxm-40gb",
    "nvidia-a100-80gb-sxm": "nvidia-a100-sxm-80gb",
    "nvidia-a800-80gb-sxm": "nvidia-a800-sxm",
    "nvidia-h100-sxm": "nvidia-h100-sxm",
    "nvidia-h100-pcie": "nvidia-h100-pcie",
    "nvidia-h800-sxm": "nvidia-h800-sxm",
    "nvidia-h200-sxm": "nvidia-h200-sxm",
    "nvidia-b200-hgx": "nvidia-b200",
    "nvidia-gb200-per-gpu": "nvidia-gb200",
    "nvidia-l40s": "nvidia-l40s",
    "nvidia-rtx-4090": "nvidia-rtx-4090",
    "nvidia-rtx-3090": "nvidia-rtx-3090",
    "amd-mi250x": "amd-mi250x",
    "amd-mi300x": "amd-mi300x",
    "amd-mi325x": "amd-mi325x",
    "intel-gaudi2": "intel-gaudi2",
    "intel-gaudi3": "intel-gaudi3",
    "google-tpu-v4": "google-tpu-v4",
    "google-tpu-v5e": "google-tpu-v5e",
    "google-tpu-v5p": "google-tpu-v5p",
    "google-tpu-v6e": "google-tpu-v6e",
    "huawei-ascend-910b": "huawei-ascend-910b",
}

# Catalog field -> (reference field, factor from the reference unit to the catalog unit).
FIELD_MAP = {
    "memory_gb": ("memory_gb", 1.0),
    "memory_bandwidth_gbs": ("memory_bandwidth_tbs", 1000.0),  # TB/s -> GB/s
    "fp8_tflops": ("dense_fp8_tflops", 1.0),
    "int8_tops": ("int8_tops_dense", 1.0),
    "fp32_tflops": ("fp32_tflops", 1.0),
    "tdp_w": ("tdp_w", 1.0),
}
# The catalog's interconnect is both directions together; these reference figures are one
# direction (the reference's own interconnect text says "per direction").
PER_DIRECTION_IN_REFERENCE = {"intel-gaudi2", "intel-gaudi3"}
# Cards without NVLink carry PCIe Gen4 x16: 16 GT/s x 16 lanes x 128b/130b = 31.5 GB/s each way,
# quoted by NVIDIA (L40S datasheet) as 64 GB/s bidirectional.
PCIE4_X16_BIDIRECTIONAL_GBS = 64

ALL_FIGURES = (
    "memory_gb",
    "memory_bandwidth_gbs",
    "bf16_tflops",
    "fp8_tflops",
    "int8_tops",
    "fp32_tflops",
    "tdp_w",
    "interconnect_gbs",
)
REF_UNCERTAIN_NAMES = {
    "memory_bandwidth_tbs": "memory_bandwidth_gbs",
    "dense_bf16_tflops": "bf16_tflops",
    "int8_tops_dense": "int8_tops",
    "nvlink_gbs_per_gpu": "interconnect_gbs",
    "tdp_w": "tdp_w",
}

# The accelerators the catalog must offer (issue text), by catalog id.
REQUIRED_IDS = {
    "nvidia-v100-sxm2", "nvidia-a100-sxm-40gb", "nvidia-a100-sxm-80gb", "nvidia-a800-sxm",
    "nvidia-h100-sxm", "nvidia-h100-pcie", "nvidia-h800-sxm", "nvidia-h200-sxm", "nvidia-b200",
    "nvidia-gb200", "nvidia-l40s", "nvidia-rtx-4090", "nvidia-rtx-3090", "amd-mi250x",
    "amd-mi300x", "amd-mi325x", "intel-gaudi2", "intel-gaudi3", "google-tpu-v4", "google-tpu-v5e",
    "google-tpu-v5p", "google-tpu-v6e", "huawei-ascend-910b",
}  # fmt: skip


@pytest.fixture(scope="module")
def reference() -> Path:
    if not (REFERENCE / "hardware.json").exists():
        pytest.fail(f"reference facts missing: expected {REFERENCE} (tests/data in the repository)")
    return REFERENCE


@pytest.fixture(scope="module")
def hardware(reference: Path) -> dict[str, dict]:
    data = json.loads((reference / "hardware.json").read_text())
    return {entry["id"]: entry for entry in data["hardware"]}


def _pairs(hardware: dict[str, dict]) -> list[tuple[dict, Accelerator]]:
    catalog = builtin_catalog()
    return [(ref, catalog.get(REF_TO_CATALOG[ref_id])) for ref_id, ref in hardware.items()]


# --- the catalog against the reference --------------------------------------------------------


def test_mapping_covers_every_reference_entry(hardware):
    assert set(REF_TO_CATALOG) == set(hardware)
    assert len(set(REF_TO_CATALOG.values())) == len(REF_TO_CATALOG)


def test_reference_ids_find_their_entry(hardware):
    # Code written against the reference's ids (nvidia-a100-80gb-sxm) finds the same entry.
    catalog = builtin_catalog()
    for ref_id, catalog_id in REF_TO_CATALOG.items():
        assert ref_id in catalog
        assert catalog.get(ref_id) is catalog.get(catalog_id)
        assert catalog.resolve(ref_id) == catalog_id
    assert set(catalog.ids()).isdisjoint(set(REF_TO_CATALOG) - set(REF_TO_CATALOG.values()))


def test_every_listed_accelerator_is_in_the_catalog():
    assert set(builtin_catalog().ids()) >= REQUIRED_IDS
    assert "nvidia-h100-sxm" in builtin_catalog()  # the default Scenario's accelerator


def test_every_figure_matches_the_reference(hardware):
    for ref, acc in _pairs(hardware):
        for field, (ref_field, factor) in FIELD_MAP.items():
            expected = ref.get(ref_field)
            got = getattr(acc, field)
            if expected is None:
                assert got is None, f"{acc.id}.{field}: reference has no figure, catalog {got}"
            else:
                assert got == pytest.approx(expected * factor, rel=1e-12), f"{acc.id}.{field}"


def test_bf16_figure_is_the_dense_16_bit_tensor_figure(hardware):
    for ref, acc in _pairs(hardware):
        expected = ref["dense_bf16_tflops"]
        if expected is None:  # V100 and Ascend 910B: the fp16 tensor figure stands in
            expected = ref["dense_fp16_tensor_tflops"]
            assert "fp16" in acc.notes, f"{acc.id}: notes must say the 16-bit figure is fp16"
        assert acc.bf16_tflops == pytest.approx(expected, rel=1e-12), acc.id


def test_interconnect_is_both_directions_together(hardware):
    for ref, acc in _pairs(hardware):
        link = ref["nvlink_gbs_per_gpu"]
        if link is None:
            assert "PCIe Gen4 x16" in ref["interconnect"], acc.id
            assert acc.interconnect_gbs == PCIE4_X16_BIDIRECTIONAL_GBS, acc.id
        elif acc.id in PER_DIRECTION_IN_REFERENCE:
            assert "per direction" in ref["interconnect"], acc.id
            assert acc.interconnect_gbs == pytest.approx(2 * link), acc.id
        else:
            assert acc.interconnect_gbs == pytest.approx(link), acc.id


def test_sparse_figures_are_never_used(hardware):
    checked = 0
    for ref, acc in _pairs(hardware):
        sparse_16 = ref.get("sparse_bf16_tflops") or ref.get("sparse_fp16_tensor_tflops")
        if sparse_16:
            checked += 1
            assert acc.bf16_tflops != pytest.approx(sparse_16), acc.id
            # NVIDIA's 2:4 sparsity doubles the dense rate (L40S datasheet rounds: 362.05 | 733).
            assert acc.bf16_tflops == pytest.approx(sparse_16 / 2, rel=0.02), acc.id
        if ref.get("sparse_fp8_tflops"):
            assert acc.fp8_tflops != pytest.approx(ref["sparse_fp8_tflops"]), acc.id
        if ref.get("int8_tops_sparse"):
            assert acc.int8_tops != pytest.approx(ref["int8_tops_sparse"]), acc.id
    assert checked >= 10


def test_uncertain_marks_are_kept(hardware):
    for ref, acc in _pairs(hardware):
        if ref.get("uncertain") is True:
            given = {f for f in ALL_FIGURES if getattr(acc, f) is not None}
            assert given <= set(acc.uncertain), f"{acc.id}: whole entry is uncertain"
        for ref_field in ref.get("uncertain_fields", []):
            assert REF_UNCERTAIN_NAMES[ref_field] in acc.uncertain, f"{acc.id}: {ref_field}"


def test_prices_are_reference_prices_with_date_and_marks(hardware):
    for ref, acc in _pairs(hardware):
        offers = ref["cloud_pricing"]
        if not offers:
            assert acc.price_usd_per_hour is None, f"{acc.id}: price with no public source"
            continue
        assert acc.price_usd_per_hour is not None, f"{acc.id}: reference has a price"
        matching = [
            offer
            for offer in offers
            if acc.price_usd_per_hour
            in (
                offer.get("usd_per_gpu_hr"),
                offer.get("usd_per_chip_hr"),
                *offer.get("usd_per_gpu_hr_range", ()),
            )
        ]
        assert matching, f"{acc.id}: {acc.price_usd_per_hour} is not a reference price"
        offer = matching[0]
        year = int(acc.price_date[:4])
        assert str(year) in offer["as_of"] or f"until {year + 1}-01-01" in offer["as_of"], acc.id
        assert acc.price_source
        if offer.get("uncertain"):
            assert "price_usd_per_hour" in acc.uncertain, acc.id


def test_catalog_entries_are_consistent():
    for acc in builtin_catalog():
        assert acc.vendor in {"NVIDIA", "AMD", "Intel", "Google", "Huawei"}
        assert acc.source
        assert (acc.price_usd_per_hour is None) == (acc.price_date is None), acc.id
        # Narrower types are never slower on the same tensor cores; vector fp32 is far slower.
        assert (acc.fp8_tflops or acc.bf16_tflops) >= acc.bf16_tflops, acc.id
        assert (acc.int8_tops or acc.bf16_tflops) >= acc.bf16_tflops, acc.id
        assert (acc.fp32_tflops or 0) < acc.bf16_tflops, acc.id


def test_memory_bytes_read_the_datasheet_gb_as_the_binary_size_drivers_report(reference, hardware):
    # The datasheet figure is the reference's, unchanged...
    for ref, acc in _pairs(hardware):
        assert acc.memory_gb == pytest.approx(ref["memory_gb"]), acc.id
    # ...and the device holds that many GiB: the totals the drivers report (the same recorded
    # outputs tests/fixtures/smi/ uses) lie within 1% of memory_gb x 2^30, and 7% above
    # memory_gb x 1e9, which would understate every fit.
    reported_bytes = {
        "nvidia-h100-sxm": 81_559 * 2**20,  # nvidia-smi, "NVIDIA H100 80GB HBM3"
        "nvidia-a100-sxm-40gb": 40_960 * 2**20,  # nvidia-smi, "NVIDIA A100-SXM4-40GB"
        "amd-mi300x": 205_822_885_888,  # rocm-smi, "VRAM Total Memory (B)"
    }
    for accelerator_id, reported in reported_bytes.items():
        acc = find_accelerator(accelerator_id)
        assert reported == pytest.approx(acc.memory_bytes, rel=0.01), accelerator_id
        assert reported > 1.05 * acc.memory_gb * 1e9, accelerator_id


# --- peak_flops --------------------------------------------------------------------------------


def test_peak_flops_per_dtype():
    h100 = find_accelerator("nvidia-h100-sxm")
    assert h100.peak_flops("bf16") == pytest.approx(989.4e12)
    assert h100.peak_flops("fp16") == h100.peak_flops("bf16")
    assert h100.peak_flops("fp8") == pytest.approx(1978.9e12)
    assert h100.peak_flops("int8") == pytest.approx(1978.9e12)
    assert h100.peak_flops("int4") == h100.peak_flops("int8")
    assert h100.peak_flops("fp32") == pytest.approx(66.9e12)


def test_peak_flops_fallbacks():
    v100 = find_accelerator("nvidia-v100-sxm2")  # no fp8, no int8 tensor cores
    assert v100.peak_flops("fp8") == pytest.approx(125e12)
    assert v100.peak_flops("int8") == pytest.approx(125e12)
    a100 = find_accelerator("nvidia-a100-sxm-80gb")  # int8 but no fp8
    assert a100.peak_flops("fp8") == pytest.approx(312e12)
    assert a100.peak_flops("int4") == pytest.approx(624e12)
    gaudi2 = find_accelerator("intel-gaudi2")  # fp8 but no int8 figure
    assert gaudi2.peak_flops("int8") == pytest.approx(865e12)


def test_peak_flops_errors():
    with pytest.raises(EngineInputError, match="fp32"):
        find_accelerator("google-tpu-v5e").peak_flops("fp32")
    with pytest.raises(EngineInputError, match="bf16, fp16, fp8"):
        find_accelerator("nvidia-h100-sxm").peak_flops("fp64")


# --- lookups ---------------------------------------------------------------------------------


def test_catalog_is_an_ordered_immutable_collection():
    catalog = builtin_catalog()
    assert catalog is builtin_catalog()  # cached
    assert len(catalog) == len(catalog.ids()) == len(list(catalog))
    assert [a.id for a in catalog] == catalog.ids()
    assert catalog.ids()[0].startswith("nvidia-")
    with pytest.raises(Exception):
        catalog.get("nvidia-h100-sxm").memory_gb = 1  # frozen
    with pytest.raises(AttributeError):
        catalog.extra = 1  # no attribute dictionary


@pytest.mark.parametrize("typo", ["nvidia-h100", "h100-sxm", "nvidia-h100-sxm5"])
def test_unknown_id_names_a_close_match(typo):
    with pytest.raises(EngineInputError, match="nvidia-h100-sxm") as info:
        find_accelerator(typo)
    assert typo in str(info.value)


@given(st.text(max_size=30))
def test_any_unknown_id_is_an_engine_input_error(text):
    if text in builtin_catalog():
        return
    with pytest.raises(EngineInputError, match="unknown accelerator"):
        builtin_catalog().get(text)


# --- the user's file ---------------------------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "accelerators.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_file_or_none_gives_the_builtin_catalog(tmp_path):
    for user_file in (None, tmp_path / "absent.toml"):
        load = load_catalog(user_file)
        assert isinstance(load, CatalogLoad)
        assert load.problems == ()
        assert load.catalog.ids() == builtin_catalog().ids()


def test_override_changes_only_the_given_fields(tmp_path):
    path = _write(
        tmp_path,
        """
[accelerators.nvidia-h100-sxm]
price_usd_per_hour = 1.99

[accelerators.nvidia-h100-pcie]
memory_bandwidth_gbs = 2039
""",
    )
    load = load_catalog(path)
    assert load.problems == ()
    builtin = builtin_catalog().get("nvidia-h100-sxm")
    h100 = load.catalog.get("nvidia-h100-sxm")
    assert h100.price_usd_per_hour == 1.99
    assert h100.price_date is None  # the old date belonged to the old price
    assert "price_usd_per_hour" not in h100.uncertain  # the user's own figure
    assert str(path) in h100.source
    unchanged = set(Accelerator.model_fields) - {
        "price_usd_per_hour", "price_date", "price_source", "source", "uncertain"
    }  # fmt: skip
    for field in unchanged:
        assert getattr(h100, field) == getattr(builtin, field), field
    pcie = load.catalog.get("nvidia-h100-pcie")
    assert pcie.memory_bandwidth_gbs == 2039
    assert "memory_bandwidth_gbs" not in pcie.uncertain
    assert "bf16_tflops" in pcie.uncertain
    assert load.catalog.ids() == builtin_catalog().ids()  # overrides keep their place
    assert builtin_catalog().get("nvidia-h100-sxm") == builtin  # the built-in is untouched


def test_override_by_alias_changes_the_entry_it_names(tmp_path):
    path = _write(tmp_path, "[accelerators.nvidia-a100-80gb-sxm]\ntdp_w = 500\n")
    load = load_catalog(path)
    assert load.problems == ()
    assert load.catalog.get("nvidia-a100-sxm-80gb").tdp_w == 500
    assert load.catalog.get("nvidia-a100-80gb-sxm").tdp_w == 500
    assert load.catalog.ids() == builtin_catalog().ids()


OVERRIDABLE = (
    "memory_gb", "memory_bandwidth_gbs", "bf16_tflops", "fp8_tflops", "int8_tops", "fp32_tflops",
    "tdp_w", "interconnect_gbs",
)  # fmt: skip


@settings(max_examples=25, deadline=None)
@given(
    accelerator_id=st.sampled_from(sorted(builtin_catalog().ids())),
    figures=st.dictionaries(
        st.sampled_from(OVERRIDABLE),
        st.floats(min_value=0.001, max_value=1e6, allow_nan=False),
        min_size=1,
    ),
)
def test_any_override_changes_exactly_its_fields(accelerator_id, figures):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "accelerators.toml"
        path.write_text(tomli_w.dumps({"accelerators": {accelerator_id: figures}}))
        load = load_catalog(path)
    assert load.problems == ()
    before, after = builtin_catalog().get(accelerator_id), load.catalog.get(accelerator_id)
    for field in OVERRIDABLE:
        assert getattr(after, field) == figures.get(field, getattr(before, field)), field
    assert set(after.uncertain) == set(before.uncertain) - set(figures)
    assert (after.name, after.vendor, after.price_usd_per_hour) == (
        before.name, before.vendor, before.price_usd_per_hour
    )  # fmt: skip


def test_new_accelerator_is_added(tmp_path):
    path = _write(
        tmp_path,
        """
[accelerators.acme-x1]
name = "Acme X1 64GB"
vendor = "Acme"
memory_gb = 64
memory_bandwidth_gbs = 2000
bf16_tflops = 400
interconnect_gbs = 400
price_usd_per_hour = 1.5
price_date = "2026-01"
uncertain = ["bf16_tflops"]
""",
    )
    load = load_catalog(path)
    assert load.problems == ()
    x1 = load.catalog.get("acme-x1")
    assert load.catalog.ids()[-1] == "acme-x1"
    assert x1.memory_bytes == 64 * 2**30
    assert x1.peak_flops("fp8") == pytest.approx(400e12)
    assert x1.uncertain == ("bf16_tflops",)
    assert str(path) in x1.source
    assert len(load.catalog) == len(builtin_catalog()) + 1


def test_bad_entries_are_reported_and_skipped(tmp_path):
    path = _write(
        tmp_path,
        """
[accelerators.good-one]
name = "Good"
vendor = "Acme"
memory_gb = 16
memory_bandwidth_gbs = 500
bf16_tflops = 100
interconnect_gbs = 64

[accelerators.negative-memory]
name = "Bad"
vendor = "Acme"
memory_gb = -16
memory_bandwidth_gbs = 500
bf16_tflops = 100
interconnect_gbs = 64

[accelerators.nvidia-a100-sxm-80gb]
memry_gb = 96

[accelerators.nvidia-h200-sxm]
bf16_tflops = "lots"

[accelerators.nvidia-l40s]
price_usd_per_hour = 0.9
""",
    )
    load = load_catalog(path)
    problems = load.problems
    assert len(problems) == 3, problems
    negative, unknown, wrong_type = problems
    assert negative.startswith(f"{path}: accelerator negative-memory: memory_gb: ")
    assert "greater than 0" in negative and "-16" in negative
    assert unknown.startswith(f"{path}: accelerator nvidia-a100-sxm-80gb: memry_gb: ")
    assert "not a known setting" in unknown
    assert wrong_type.startswith(f"{path}: accelerator nvidia-h200-sxm: bf16_tflops: ")
    assert "'lots'" in wrong_type
    catalog = load.catalog
    assert "negative-memory" not in catalog
    assert catalog.get("good-one").memory_gb == 16
    assert catalog.get("nvidia-l40s").price_usd_per_hour == 0.9
    # A rejected override leaves the built-in entry as it was.
    for accelerator_id in ("nvidia-a100-sxm-80gb", "nvidia-h200-sxm"):
        assert catalog.get(accelerator_id) == builtin_catalog().get(accelerator_id)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('[accelerators.acme-y]\nname = "Y"', "vendor"),  # a new entry needs its figures
        ('[accelerators.acme-y]\nname = "Y"', "interconnect_gbs"),
        ("[accelerators.nvidia-b200]\nmemory_gb = true", "memory_gb"),  # not a number
        ('[accelerators.nvidia-b200]\nuncertain = ["colour"]', "uncertain"),
        ('[accelerators.nvidia-b200]\nprice_date = "June"', "price_date"),
        ('[accelerators."Acme Z"]\nname = "Z"', "id"),
        ('[accelerators.nvidia-b200]\nid = "nvidia-b300"', "id"),
    ],
)
def test_each_bad_field_is_named(tmp_path, body, field):
    path = _write(tmp_path, body)
    load = load_catalog(path)
    assert len(load.problems) == 1, load.problems
    pattern = rf"^{re.escape(str(path))}: accelerator .+?: (.+; )?{field}: "
    assert re.search(pattern, load.problems[0]), load.problems[0]
    if "acme-y" in body:
        assert f"{field}: missing (a new accelerator" in load.problems[0]
    assert load.catalog.get("nvidia-b200") == builtin_catalog().get("nvidia-b200")


def test_file_shape_problems(tmp_path):
    path = _write(tmp_path, 'colour = "red"\n[accelerators]\nnvidia-b200 = 3\n')
    load = load_catalog(path)
    assert len(load.problems) == 2
    assert all(p.startswith(f"{path}: ") for p in load.problems)
    assert "colour" in load.problems[0]
    assert "accelerator nvidia-b200: must be a table" in load.problems[1]
    assert load.catalog.ids() == builtin_catalog().ids()


def test_toml_syntax_error_names_file_and_line(tmp_path):
    path = _write(tmp_path, '[accelerators.acme-x1]\nname = "X1"\nmemory_gb = = 3\n')
    load = load_catalog(path)
    assert len(load.problems) == 1
    assert load.problems[0].startswith(f"{path}: ")
    assert "line 3" in load.problems[0]
    assert load.catalog.ids() == builtin_catalog().ids()


def test_unreadable_file_is_a_problem_not_a_crash(tmp_path):
    path = tmp_path / "accelerators.toml"
    path.write_bytes(b"\xff\xfe not utf-8")
    load = load_catalog(path)
    assert len(load.problems) == 1 and str(path) in load.problems[0]
    assert isinstance(load.catalog, Catalog)
