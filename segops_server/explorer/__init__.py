"""The explorer: one URLconf for reading a user's profile, events and segments."""
