-- SMS delivery, opt-outs, inbound dedupe, OTP codes and applications.
CREATE INDEX outbox_by_provider_id ON outbox (provider_message_id);
CREATE TABLE sms_opt_outs (
  msisdn text PRIMARY KEY,
  at     bigint NOT NULL
);
CREATE TABLE inbound_sms (
  id          text PRIMARY KEY,
  msisdn      text NOT NULL,
  body        text NOT NULL,
  received_at bigint NOT NULL
);
-- Codes are kept only as HMAC hashes.
CREATE TABLE otp_codes (
  id         bigserial PRIMARY KEY,
  phone      text NOT NULL,
  purpose    text NOT NULL,
  hash       text NOT NULL,
  attempts   integer NOT NULL DEFAULT 0,
  expires_at bigint NOT NULL,
  used_at    bigint,
  created_at bigint NOT NULL
);
CREATE INDEX otp_by_phone ON otp_codes (phone, purpose, id DESC);
CREATE INDEX otp_sends ON otp_codes (phone, created_at);
CREATE TABLE applications (
  number         text PRIMARY KEY,
  service_code   integer NOT NULL,
  service_name   text NOT NULL,
  phone          text NOT NULL,
  reference      text NOT NULL DEFAULT '',
  invoice_number text UNIQUE,
  status         text NOT NULL,
  note           text NOT NULL DEFAULT '',
  created_at     bigint NOT NULL,
  updated_at     bigint NOT NULL
);
CREATE TABLE application_history (
  id     bigserial PRIMARY KEY,
  number text NOT NULL REFERENCES applications(number),
  status text NOT NULL,
  note   text NOT NULL DEFAULT '',
  at     bigint NOT NULL
);
CREATE INDEX application_history_by_number ON application_history (number, id);
