"""What every layer shares: the error hierarchy, DuckDB helpers and the registry of table names.

`core` imports no other package of the project; every package may import it.
"""
