"""The analytic engine: DuckDB over a columnar copy of the store (issue 17)."""
