"""`python -m llmscope`: the same as the `llmscope` command."""

from llmscope.tui.console import main

if __name__ == "__main__":
    raise SystemExit(main())
