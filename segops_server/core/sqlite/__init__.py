"""SQLite, the embedded default, with a bounded wait for its one write lock (see base.py)."""
