"""Segments and their saved definitions: create, change, delete, the versions kept, and their reads."""
