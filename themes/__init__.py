"""Colour themes of the llmscope app, as TOML data."""
