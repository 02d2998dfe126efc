"""Authorization: each endpoint's policy, the tenant a request acts on, and the plan quotas it
counts against. No DRF and no HTTP here; the API, the console and the short way adapt it."""
