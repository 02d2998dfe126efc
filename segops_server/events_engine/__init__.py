"""The events engine: where segment rules read events (the database, or ClickHouse)."""
