"""Data bundled with the engine (accelerator catalog)."""
