"""Event schemas (spec §17): the properties an event type's payload carries, enforced on ingestion."""
