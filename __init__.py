"""llmscope: what would this model cost, and does it fit?

One package with four subpackages, layered bottom up (ARCHITECTURE.md):

- `llmscope.engine`: the pure library, `Scenario` in, `Readout` out
  (`from llmscope.engine import Scenario, evaluate`);
- `llmscope.presets`: preset files, dotted settings, the session, reports;
- `llmscope.themes`: the app's colour themes as data;
- `llmscope.tui`: the terminal app and the `llmscope` command line.

This file is the repository's root: setuptools installs the root as the `llmscope` package and the
folders beside it as its subpackages.
"""

__version__ = "0.1.0"
