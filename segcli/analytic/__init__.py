"""DuckDB evaluates: the analytic copy of the store, and evaluation, export and macros on it."""
