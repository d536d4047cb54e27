-- The hash of the request an idempotency key was first used with, so a
-- key reused for a different request is refused instead of answered with
-- the first invoice.
ALTER TABLE invoices ADD COLUMN request_hash text NOT NULL DEFAULT '';
