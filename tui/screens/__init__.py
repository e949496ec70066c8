"""Screens of the llmscope app."""
