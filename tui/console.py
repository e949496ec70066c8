"""The `llmscope` console script.

The garbage collector stays off while the command imports and, for the app, until its first
frame: the objects made then (modules, classes, the widget tree) nearly all live as long as the
process, so collecting among them only costs time, ~10-20% of the wait for the first frame
(benchmarks/bench_tui.py). `run_app` turns it back on after the first frame; every other
command turns it on as soon as its arguments are read.
"""

from __future__ import annotations

import gc


def main() -> int:
    gc.disable()
    from llmscope.tui.cli import main as cli_main

    return cli_main()
