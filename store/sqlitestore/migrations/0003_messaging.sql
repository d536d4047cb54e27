-- SMS delivery, opt-outs, inbound dedupe, OTP codes and applications.
CREATE INDEX outbox_by_provider_id ON outbox (provider_message_id);
CREATE TABLE sms_opt_outs (
  msisdn TEXT PRIMARY KEY,
  at     INTEGER NOT NULL
);
CREATE TABLE inbound_sms (
  id          TEXT PRIMARY KEY,
  msisdn      TEXT NOT NULL,
  body        TEXT NOT NULL,
  received_at INTEGER NOT NULL
);
-- Codes are kept only as HMAC hashes.
CREATE TABLE otp_codes (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  phone      TEXT NOT NULL,
  purpose    TEXT NOT NULL,
  hash       TEXT NOT NULL,
  attempts   INTEGER NOT NULL DEFAULT 0,
  expires_at INTEGER NOT NULL,
  used_at    INTEGER,
  created_at INTEGER NOT NULL
);
CREATE INDEX otp_by_phone ON otp_codes (phone, purpose, id DESC);
CREATE INDEX otp_sends ON otp_codes (phone, created_at);
CREATE TABLE applications (
  number         TEXT PRIMARY KEY,
  service_code   INTEGER NOT NULL,
  service_name   TEXT NOT NULL,
  phone          TEXT NOT NULL,
  reference      TEXT NOT NULL DEFAULT '',
  invoice_number TEXT UNIQUE,
  status         TEXT NOT NULL,
  note           TEXT NOT NULL DEFAULT '',
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL
);
CREATE TABLE application_history (
  id     INTEGER PRIMARY KEY AUTOINCREMENT,
  number TEXT NOT NULL REFERENCES applications(number),
  status TEXT NOT NULL,
  note   TEXT NOT NULL DEFAULT '',
  at     INTEGER NOT NULL
);
CREATE INDEX application_history_by_number ON application_history (number, id);
