"""Membership changes: who entered and who exited a segment with each compute, and their feed."""
