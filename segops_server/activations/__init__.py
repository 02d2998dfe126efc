"""Activations: connectors that sync a segment's entered and exited users to another system."""
