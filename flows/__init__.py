"""Prefect flows, the CLI and settings: the thin edge that wires the packages together."""
