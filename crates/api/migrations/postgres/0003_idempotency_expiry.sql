-- Idempotency keys are kept for 24 hours (a retry comes within seconds or
-- minutes); older ones are swept by created_at, which this index finds.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
