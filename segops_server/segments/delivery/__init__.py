"""Membership: a user's segments, a segment's members (from per-process snapshots), why a user is in one."""
