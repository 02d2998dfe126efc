"""Segment exports: the request, the worker writing CSV or Parquet under a lease, downloads, expiry."""
