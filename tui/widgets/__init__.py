"""Widgets of the llmscope app."""
