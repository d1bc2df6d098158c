"""The segment language: load, parse, validate, compile, explain. No click, no sqlite3 here."""
