-- Invoices, M-Pesa attempts, callbacks, audit, SMS outbox and jobs. Times
-- are Unix milliseconds so store/ledger runs the same SQL on Postgres and
-- SQLite; money is whole shillings in bigint.
CREATE TABLE invoices (
  number          text PRIMARY KEY,
  service_code    integer NOT NULL,
  service_name    text NOT NULL,
  phone           text NOT NULL,
  fields          text NOT NULL DEFAULT '{}',
  fee             bigint NOT NULL CHECK (fee >= 0),
  convenience_fee bigint NOT NULL CHECK (convenience_fee >= 0),
  total           bigint NOT NULL CHECK (total = fee + convenience_fee),
  status          text NOT NULL CHECK (status IN ('pending', 'paid', 'failed', 'cancelled', 'expired')),
  reason          text NOT NULL DEFAULT '',
  mpesa_receipt   text,
  language        text NOT NULL,
  idempotency_key text UNIQUE,
  created_at      bigint NOT NULL,
  expires_at      bigint NOT NULL,
  paid_at         bigint
);
CREATE INDEX invoices_by_phone ON invoices (phone, created_at DESC);
CREATE INDEX invoices_pending_expiry ON invoices (expires_at) WHERE status IN ('pending', 'failed', 'cancelled');
CREATE UNIQUE INDEX invoices_receipt ON invoices (mpesa_receipt) WHERE mpesa_receipt IS NOT NULL;

CREATE TABLE payment_attempts (
  id                  bigserial PRIMARY KEY,
  invoice_number      text NOT NULL REFERENCES invoices(number),
  payer               text NOT NULL,
  amount              bigint NOT NULL,
  status              text NOT NULL,
  checkout_request_id text UNIQUE,
  merchant_request_id text NOT NULL DEFAULT '',
  result_code         text NOT NULL DEFAULT '',
  result_desc         text NOT NULL DEFAULT '',
  created_at          bigint NOT NULL,
  updated_at          bigint NOT NULL
);
CREATE INDEX payment_attempts_by_invoice ON payment_attempts (invoice_number, id);

CREATE TABLE c2b_payments (
  trans_id       text PRIMARY KEY,
  invoice_number text NOT NULL REFERENCES invoices(number),
  amount         bigint NOT NULL,
  msisdn         text NOT NULL DEFAULT '',
  received_at    bigint NOT NULL
);

CREATE TABLE payment_callbacks (
  id          bigserial PRIMARY KEY,
  kind        text NOT NULL,
  reference   text NOT NULL DEFAULT '',
  outcome     text NOT NULL,
  body        text NOT NULL,
  received_at bigint NOT NULL
);

CREATE TABLE audit_log (
  id        bigserial PRIMARY KEY,
  entity    text NOT NULL,
  entity_id text NOT NULL,
  action    text NOT NULL,
  detail    text NOT NULL DEFAULT '',
  at        bigint NOT NULL
);
CREATE INDEX audit_by_entity ON audit_log (entity, entity_id, id);

CREATE TABLE outbox (
  id                  bigserial PRIMARY KEY,
  recipient           text NOT NULL,
  body                text NOT NULL,
  kind                text NOT NULL,
  priority            integer NOT NULL,
  status              text NOT NULL DEFAULT 'queued',
  provider_message_id text,
  attempts            integer NOT NULL DEFAULT 0,
  next_attempt_at     bigint NOT NULL,
  last_error          text NOT NULL DEFAULT '',
  dedupe_key          text UNIQUE,
  created_at          bigint NOT NULL,
  updated_at          bigint NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, priority, next_attempt_at);
CREATE INDEX outbox_by_recipient ON outbox (recipient, id DESC);

CREATE TABLE jobs (
  id           bigserial PRIMARY KEY,
  kind         text NOT NULL,
  payload      text NOT NULL,
  run_at       bigint NOT NULL,
  attempts     integer NOT NULL DEFAULT 0,
  locked_until bigint,
  last_error   text NOT NULL DEFAULT '',
  done_at      bigint
);
CREATE INDEX jobs_due ON jobs (run_at) WHERE done_at IS NULL;
