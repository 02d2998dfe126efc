"""Computing a segment's members: the request, the worker's leased run and the generation swap."""
