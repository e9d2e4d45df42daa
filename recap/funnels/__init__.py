"""Funnel drop-off, explained (issue 20): being built."""
