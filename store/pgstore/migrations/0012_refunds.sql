-- Refunds of held money by M-Pesa transaction reversal. The state
-- machine (queued → sending → sent → succeeded | failed) and the partial
-- unique index make a refund go to Daraja at most once, and a payment
-- have at most one refund on its way.
CREATE TABLE refunds (
  id                         bigserial PRIMARY KEY,
  payment_id                 bigint NOT NULL REFERENCES received_payments(id),
  amount                     bigint NOT NULL CHECK (amount > 0),
  status                     text NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'succeeded', 'failed')),
  dedupe_key                 text UNIQUE,
  requested_by               text NOT NULL DEFAULT '',
  remarks                    text NOT NULL DEFAULT '',
  conversation_id            text UNIQUE,
  originator_conversation_id text UNIQUE,
  result_code                text NOT NULL DEFAULT '',
  result_desc                text NOT NULL DEFAULT '',
  created_at                 bigint NOT NULL,
  updated_at                 bigint NOT NULL
);
CREATE UNIQUE INDEX refunds_one_open ON refunds (payment_id) WHERE status IN ('queued', 'sending', 'sent');
