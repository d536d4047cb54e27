-- One-time codes belong to the agency whose API key asked for them ('' for
-- an operator's key): their lookups, tries and send cap are per agency.
ALTER TABLE otp_codes ADD COLUMN agency text NOT NULL DEFAULT '';
DROP INDEX otp_by_phone;
DROP INDEX otp_sends;
CREATE INDEX otp_by_scope ON otp_codes (agency, phone, purpose, id DESC);
CREATE INDEX otp_sends ON otp_codes (agency, phone, created_at);
-- A prompt to a phone that neither owns the invoice nor asked for the
-- prompt itself is a stranger's (1); such prompts to one phone are capped
-- per hour, counted here under the phone's lock.
ALTER TABLE payment_attempts ADD COLUMN stranger integer NOT NULL DEFAULT 0;
CREATE INDEX payment_attempts_by_payer ON payment_attempts (payer, created_at) WHERE stranger = 1;
