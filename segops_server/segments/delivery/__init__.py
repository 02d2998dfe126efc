"""Membership delivery: a user's segments and a segment's members, from per-process snapshots."""
