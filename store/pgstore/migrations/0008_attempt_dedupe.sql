-- The key a prompt was requested under (a USSD hop's), so a retried or
-- racing request finds the prompt it already queued instead of a refusal
-- or a second prompt.
ALTER TABLE payment_attempts ADD COLUMN dedupe_key text UNIQUE;
