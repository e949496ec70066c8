"""Help: the keys, and what each readout means with the source of its formula."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from llmscope.engine.scaling import HOFFMANN_INCONSISTENCY_NOTE

READOUTS_HELP = f"""\
# llmscope

Every number comes from `engine.evaluate(scenario)`; each formula names its source.

## Keys
| key | does |
| --- | --- |
| Up / Down (Enter), PgUp / PgDn | previous / next field; a page of fields |
| Tab / Shift+Tab | next / previous pane or control (mouse: click a field) |
| type | edit the field: `4096`, `128k` (lengths: 131,072), `70B`, `15.6T`, `1e24`, `2^20`; each key applies |
| Left / Right, Home / End, Ctrl+U / Ctrl+K | move in the text; clear before / after the caret |
| Esc | back to the value in use (drops a rejected entry) |
| + / - | next sensible value (GPU-friendly multiples, 1-2-5 steps); cycle a choice; toggle |
| * / (slash), Shift+Up / Shift+Down | double / halve |
| F2 F3 F4 | go to the builder, readouts or curves (shown first on a narrow terminal); in the readouts, arrows, PgUp/PgDn and Home/End scroll |
| F6 / F7, l / v | next scaling law / curve view (l and v in the curves pane) |
| F5 or p | pin this scenario as A and compare what you change (B) against it; again to unpin |
| F8 | plan the parallel layout (tensor x pipeline x virtual stages x context x data x expert, ZeRO, micro-batch, recompute) on the readouts' step-time model; layout settings you edited stay pinned; the current layout shows its rank; Enter applies one |
| F9 or e | export the readouts as Markdown and JSON into the current directory |
| Ctrl+O / Ctrl+S / Ctrl+R | open / save / revert a preset; the palette also has save as |
| Ctrl+P | command palette: presets, accelerators, laws, themes, export, quit |
| F1 or ? | this help |
| Ctrl+Q | quit (asks when there are unsaved edits) |

## Parameters
Exact integers, equal to what Hugging Face transformers counts for the same config: embedding,
attention (q/k/v/o, MLA's low-rank projections), MLP or routed experts, shared experts, router,
norms, output head. *Active* counts the experts a token is routed to (k of E), never total x k/E.

## Memory
- **Weights**: parameters x bytes per element at the serving precision; int8/int4/fp8 add one
  scale per quantization group.
- **KV cache**: 2 (K and V) x layers x KV heads x head dim x bytes per token (GQA, Ainslie et al.
  2023); MLA caches (kv_lora_rank + qk_rope_head_dim) per layer (DeepSeek-V2, Sec. 2.1.2);
  sliding-window layers hold at most the window (Mistral 7B, Sec. 2).
- **Training state**: mixed-precision Adam keeps 16 bytes per parameter, sharded by ZeRO stages
  1/2/3 over the data-parallel degree (Rajbhandari et al. 2020) and by tensor x pipeline degrees.
- **Activations**: Korthikanti et al. 2022, eqs. 1-5, re-derived for today's blocks: K/V at
  kv-head width (GQA), SwiGLU's stored tensors, dropout masks only with `dropout`, flash
  attention (Dao et al. 2022), selective and full recomputation, sequence parallelism; the first
  pipeline stage holds p (1F1B) or p + (p-1)/v (interleaved) micro-batches; context parallelism
  divides the tokens by cp. FP8 training keeps an fp8 copy and transpose of each weight.
- Bars: *fits* below 90% of the accelerator's memory, *tight* up to 100%, *does not fit* above.
  Beside them: the smallest cluster at which training is no longer over, and the smallest tensor
  parallel at which serving fits within the 90% a server reserves for weights and KV (vLLM's
  default); the serving figures assume that degree when the one set is too small.

## Training
FLOPs per token = 2 x active matmul parameters + attention scores and values, causal
(Kaplan et al. 2020; PaLM appendix B); training = 3 x forward, plus recomputation for hardware
FLOPs; 6N is shown for comparison. Wall clock = FLOPs / (accelerators x dense bf16 peak x MFU).

The MFU is predicted from the layout (`cluster.mfu` unset) by a step-time model: GEMMs at the
accelerator's published large-GEMM efficiency, lower for narrow shapes (h/t, tokens per
micro-batch); attention (flash or not); element-wise traffic; tensor-, context-, expert- and
data-parallel communication with latency and bandwidth; the pipeline bubble (p-1)/(v m) with v
virtual stages (Narayanan et al. 2021); FP8 GEMMs at the fp8 peak (`precision`). The training
section shows the predicted MFU, tokens/s, step time and a bar of the step: compute (█), bubble
(░), TP (▓), DP (▒), pipeline sends (▚), expert all-to-all (▞), context parallel (▙). Data
parallel = count / (t x p x cp). Set `cluster.mfu` to override the prediction ("set").
A layout that breaks a rule (t must divide the heads, t x p x cp the count, p at most the layers,
micro-batch x data parallel the global batch) is kept, and its field and the training section say
"invalid layout" with the reason until an edit of any field makes it valid. `reference
accelerator hours` (a preset's published GPU-hours) show the MFU a real run implies.
Energy = accelerators x TDP x time x PUE; CO2 = energy x grid intensity. Dollars use the cluster's
price or the catalog's dated price.

Set `deadline days` or `budget usd` (tab "Train & serve") to ask the inverse questions: the
accelerators that finish the run in time (the wall-clock formula solved for the count, rounded
up; compute only, so check the memory bar at that count) and the tokens the budget buys
(budget / price = accelerator-hours, x peak x MFU / FLOPs per token).

## Serving (roofline)
Prefill is compute-bound: FLOPs / (peak x prefill efficiency). Decode per token is the larger of
memory time ((weights + KV read) / (bandwidth x efficiency)) and compute time at the batch size.
Max batch is what the KV budget holds at prompt + output tokens.

## Scaling laws
Kaplan et al. 2020 (L(N, D), non-embedding N), Hoffmann et al. 2022 Approach 3, Besiroglu et al.
2024 (the Chinchilla replication), DeepSeek LLM 2024 (allocation exponents only, no loss). The
compute-optimal model for C FLOPs at 20 tokens per parameter is about sqrt(C / 120) parameters
(C = 6ND), not 20 x sqrt(C).

{HOFFMANN_INCONSISTENCY_NOTE}

## Figures marked ~
Catalog figures not confirmed from a primary source carry a "~" wherever they are shown.
"""


class HelpScreen(ModalScreen[None]):
    """F1 / ?: keys and readouts explained; Escape, F1 or q closes it."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="help.close"),
        Binding("f1", "dismiss", "Close", show=False, id="help.close_f1"),
        Binding("q", "dismiss", "Close", show=False, id="help.close_q"),
    ]

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 96%;
        max-width: 110;
        height: 90%;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(READOUTS_HELP)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
