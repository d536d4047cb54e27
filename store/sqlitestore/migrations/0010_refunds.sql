-- Refunds of held money by M-Pesa transaction reversal. The state
-- machine (queued → sending → sent → succeeded | failed) and the partial
-- unique index make a refund go to Daraja at most once, and a payment
-- have at most one refund on its way.
CREATE TABLE refunds (
  id                         INTEGER PRIMARY KEY AUTOINCREMENT,
  payment_id                 INTEGER NOT NULL REFERENCES received_payments(id),
  amount                     INTEGER NOT NULL CHECK (amount > 0),
  status                     TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'succeeded', 'failed')),
  dedupe_key                 TEXT UNIQUE,
  requested_by               TEXT NOT NULL DEFAULT '',
  remarks                    TEXT NOT NULL DEFAULT '',
  conversation_id            TEXT UNIQUE,
  originator_conversation_id TEXT UNIQUE,
  result_code                TEXT NOT NULL DEFAULT '',
  result_desc                TEXT NOT NULL DEFAULT '',
  created_at                 INTEGER NOT NULL,
  updated_at                 INTEGER NOT NULL
);
CREATE UNIQUE INDEX refunds_one_open ON refunds (payment_id) WHERE status IN ('queued', 'sending', 'sent');
