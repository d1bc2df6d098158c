"""The analytic engine: DuckDB evaluating segments over a columnar copy of the store."""
