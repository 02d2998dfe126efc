"""Analytics (spec §16): read-only figures of a tenant's segments, events, activations and plan."""
