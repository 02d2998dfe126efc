"""The explorer: a user's profile, events and search (views, reads, shapes) and every explorer route."""
