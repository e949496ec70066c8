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
| `[` / `]` | previous / next builder tab: Model, Hardware, Train & serve (from anywhere; paste to put a bracket in a name) |
| Tab / Shift+Tab | next / previous pane or control (mouse: click a field) |
| type | edit the field: `4096`, `128k` (lengths: 131,072), `70B`, `15.6T`, `1e24`, `2^20`. The whole text is checked at each key: while it is a valid value it is in use; while it is not, the value from before you began typing is, and the reason shows under the field |
| Left / Right, Home / End, Ctrl+U / Ctrl+K | move in the text; clear before / after the caret |
| Esc | back to the value from before you began typing in the field, applied again |
| + / - | next sensible value (GPU-friendly multiples, 1-2-5 steps); cycle a choice; toggle; the caret goes to the end |
| - in an empty field, or after `1e` | a minus sign (no setting is negative, so the field says which range it takes) |
| * / (slash), Shift+Up / Shift+Down | double / halve |
| F2 F3 F4 | go to the builder, readouts or curves (shown first on a narrow terminal); in the readouts, arrows, PgUp/PgDn and Home/End scroll |
| F6 / F7, l / v | next scaling law / curve view (l and v in the curves pane) |
| F5 or p | pin this scenario as A and compare what you change (B) against it; again to unpin |
| F8 | plan the parallel layout (tensor x pipeline x virtual stages x context x data x expert, ZeRO, micro-batch, recompute) on the readouts' step-time model; layout settings you edited stay pinned; the current layout shows its rank; Enter applies one |
| F9 or e | export the readouts as Markdown and JSON into the current directory |
| Ctrl+O / Ctrl+S / Ctrl+R | open / save / revert a preset (open and revert ask before dropping unsaved edits or the pin); the palette also has save as |
| Ctrl+P | command palette: presets, accelerators, laws, themes, export, quit |
| F1 or ? | this help |
| Ctrl+Q | quit (asks when there are unsaved edits) |

A field left unset shows `none` and, dim beside it, what the readouts use in its place (the
predicted MFU, the catalog's price, the measured serving efficiencies, hidden size / heads); + or
- on it starts from that value.

Every edit is saved to your session as you make it; a dropped connection (SIGHUP) or SIGTERM
saves it too and restores the terminal. `llmscope locate` shows where the session lives.

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

## Serving under load (continuous batching)
`batch size` is the number of requests in flight on one replica of `tensor parallel`
accelerators. One engine step over n tokens costs, per kernel, the bytes it reads over the
achievable bandwidth plus its FLOPs over the achievable matmul rate: the weights once (a mixture
of experts only the distinct experts its tokens touch, E(1 - (1 - k/E)^n)), each request's KV
cache at its mean context, two all-reduces per layer across the TP group (latency + bytes over the
NVLink/link bandwidth; expert parallel swaps a MoE layer's for dispatch and combine), and a fixed
~1 ms of scheduling plus a few microseconds per kernel. Achievable rates are measured per
accelerator: the maximum achievable matmul FLOPS (Bekman's MAMF table, e.g. H100 794/989 TF bf16)
x 0.75 for the non-GEMM share, and 85% of the datasheet bandwidth; `compute efficiency` and
`bandwidth efficiency` override them.

Prompts are prefilled in 8,192-token chunks between decode steps (chunked prefill), so:
- **inter-token latency** = a decode step + (batch / output tokens) x what one prompt adds;
- **tokens/s per user** = 1 / inter-token latency; **tokens/s per accelerator** = batch /
  inter-token latency / TP (output tokens, prefill time included);
- **time to first token** = half a step's wait + the prompt's chunks riding with the other
  decoders + the queue when the batch exceeds the **max batch** the KV memory holds.
$ per 1M input tokens charge the prompt's share of the replica time, output tokens the decode
steps; both together pay the whole replica. The published cases in
tests/data/serving_benchmarks.json (TensorRT-LLM, NIM) hold within 30%.

## The serving frontier (curves pane, `v` to the serving view)
One curve per TP degree (powers of two within a node that divide the attention heads and hold the
weights): output tokens/s per accelerator against tokens/s per user as the batch grows from 1 to
the max batch. A bigger batch shares each weight read among more users, so the accelerator serves
more and each user waits longer. The readout "cheapest at >= 20 tok/s/user" (set by `min tokens
per s per user`) picks the TP and batch with the most tokens/s per accelerator at that speed;
the summary line shows it.

Llama 3.1 70B on H100 in fp8, 1,024 in / 256 out: TP 4 at ~155 requests, ~775 tok/s per GPU,
about $1.07 per 1M output tokens at the catalog's $2.99/h. Why, per GPU at 20 tok/s/user: at
TP 1 the 72 GB of weights leave KV room for only 26 requests (~550 tok/s); at TP 2 a step
streams 36 GB (~13 ms), so ~76 requests fit in 50 ms a token (~760 tok/s, nearly as good); at
TP 4 the read is 18 GB (~6 ms) and ~155 requests fit; at TP 8 the read halves again (~3 ms) but
the costs that do not shrink with TP grow in share: 160 all-reduces a step (~6.5 ms at that
batch) and ~3.4 ms of scheduling and kernel launches, so each GPU serves fewer (~640 tok/s).

## Scaling laws
Kaplan et al. 2020 (L(N, D), non-embedding N), Hoffmann et al. 2022 Approach 3, Besiroglu et al.
2024 (the Chinchilla replication), DeepSeek LLM 2024 (allocation exponents only, no loss). The
compute-optimal model for C FLOPs at 20 tokens per parameter is about sqrt(C / 120) parameters
(C = 6ND), not 20 x sqrt(C).

Set `compute budget flops` (tab "Train & serve", group "Scaling") to ask what is compute-optimal
for a budget: the curves pane lists N* and D* = C / (6 N*) for it under every law, the chosen law
in bold. N* is each law's own N (non-embedding for Kaplan and DeepSeek); the laws disagree.

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
