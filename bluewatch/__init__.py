"""Bluewatch command line and composition roots: the only place that picks adapters."""
