"""Headless core: checkpoint indexes, formats and lazy tensor access. No textual, no rich."""
