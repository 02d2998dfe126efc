"""Outgoing webhooks: signing (signing.py), the SSRF guard (ssrf.py), one vetted POST (sending.py)."""
