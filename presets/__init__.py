"""Presets bundled with llmscope: real models with their published numbers."""
