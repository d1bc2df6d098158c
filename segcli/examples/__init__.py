"""The bundled example store: its CSV files (data/) and segments (segments/), the demo that
imports them (demo.py), and the generator that writes a store of any size (generator.py)."""
