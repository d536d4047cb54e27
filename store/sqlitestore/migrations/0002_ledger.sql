-- Invoices, M-Pesa attempts, callbacks, audit, SMS outbox and jobs. Times
-- are Unix milliseconds so store/ledger runs the same SQL on Postgres and
-- SQLite; money is whole shillings in INTEGER.
CREATE TABLE invoices (
  number          TEXT PRIMARY KEY,
  service_code    INTEGER NOT NULL,
  service_name    TEXT NOT NULL,
  phone           TEXT NOT NULL,
  fields          TEXT NOT NULL DEFAULT '{}',
  fee             INTEGER NOT NULL CHECK (fee >= 0),
  convenience_fee INTEGER NOT NULL CHECK (convenience_fee >= 0),
  total           INTEGER NOT NULL CHECK (total = fee + convenience_fee),
  status          TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'failed', 'cancelled', 'expired')),
  reason          TEXT NOT NULL DEFAULT '',
  mpesa_receipt   TEXT,
  language        TEXT NOT NULL,
  idempotency_key TEXT UNIQUE,
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL,
  paid_at         INTEGER
);
CREATE INDEX invoices_by_phone ON invoices (phone, created_at DESC);
CREATE INDEX invoices_pending_expiry ON invoices (expires_at) WHERE status IN ('pending', 'failed', 'cancelled');
CREATE UNIQUE INDEX invoices_receipt ON invoices (mpesa_receipt) WHERE mpesa_receipt IS NOT NULL;

CREATE TABLE payment_attempts (
  id                  INTEGER PRIMARY KEY AUTOINCREMENT,
  invoice_number      TEXT NOT NULL REFERENCES invoices(number),
  payer               TEXT NOT NULL,
  amount              INTEGER NOT NULL,
  status              TEXT NOT NULL,
  checkout_request_id TEXT UNIQUE,
  merchant_request_id TEXT NOT NULL DEFAULT '',
  result_code         TEXT NOT NULL DEFAULT '',
  result_desc         TEXT NOT NULL DEFAULT '',
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL
);
CREATE INDEX payment_attempts_by_invoice ON payment_attempts (invoice_number, id);

CREATE TABLE c2b_payments (
  trans_id       TEXT PRIMARY KEY,
  invoice_number TEXT NOT NULL REFERENCES invoices(number),
  amount         INTEGER NOT NULL,
  msisdn         TEXT NOT NULL DEFAULT '',
  received_at    INTEGER NOT NULL
);

CREATE TABLE payment_callbacks (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  kind        TEXT NOT NULL,
  reference   TEXT NOT NULL DEFAULT '',
  outcome     TEXT NOT NULL,
  body        TEXT NOT NULL,
  received_at INTEGER NOT NULL
);

CREATE TABLE audit_log (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  entity    TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  action    TEXT NOT NULL,
  detail    TEXT NOT NULL DEFAULT '',
  at        INTEGER NOT NULL
);
CREATE INDEX audit_by_entity ON audit_log (entity, entity_id, id);

CREATE TABLE outbox (
  id                  INTEGER PRIMARY KEY AUTOINCREMENT,
  recipient           TEXT NOT NULL,
  body                TEXT NOT NULL,
  kind                TEXT NOT NULL,
  priority            INTEGER NOT NULL,
  status              TEXT NOT NULL DEFAULT 'queued',
  provider_message_id TEXT,
  attempts            INTEGER NOT NULL DEFAULT 0,
  next_attempt_at     INTEGER NOT NULL,
  last_error          TEXT NOT NULL DEFAULT '',
  dedupe_key          TEXT UNIQUE,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, priority, next_attempt_at);
CREATE INDEX outbox_by_recipient ON outbox (recipient, id DESC);

CREATE TABLE jobs (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  kind         TEXT NOT NULL,
  payload      TEXT NOT NULL,
  run_at       INTEGER NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER,
  last_error   TEXT NOT NULL DEFAULT '',
  done_at      INTEGER
);
CREATE INDEX jobs_due ON jobs (run_at) WHERE done_at IS NULL;
