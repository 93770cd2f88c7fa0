"""Fixes for the current stack. Filled in by the foundation work."""
