"""Models of the partner API (keys, idempotency records, webhooks): see the REST API issue."""
