"""Outgoing webhooks: signing what is sent (signing.py), and sending it only to public addresses (ssrf.py)."""
