-- The suspense ledger: every M-Pesa transaction we learn of (callback,
-- status query, pull, statement) is recorded once by its transaction id,
-- and its amount is split into applied, suspense and refunded, which
-- always add up to it. payment_moves is the journal of every movement
-- between those buckets (what the settlement report sums); an invoice
-- accumulates what was applied to it in amount_received.
ALTER TABLE invoices ADD COLUMN amount_received INTEGER NOT NULL DEFAULT 0;
UPDATE invoices SET amount_received = total WHERE status = 'paid';

CREATE TABLE received_payments (
  id                  INTEGER PRIMARY KEY AUTOINCREMENT,
  -- The M-Pesa transaction id (receipt), or 'stk:<CheckoutRequestID>'
  -- while a prompt's payment confirmed by a status query waits for it.
  trans_id            TEXT NOT NULL UNIQUE,
  source              TEXT NOT NULL,
  account             TEXT NOT NULL DEFAULT '',
  invoice_number      TEXT,
  amount              INTEGER NOT NULL CHECK (amount > 0),
  applied             INTEGER NOT NULL DEFAULT 0 CHECK (applied >= 0),
  suspense            INTEGER NOT NULL DEFAULT 0 CHECK (suspense >= 0),
  refunded            INTEGER NOT NULL DEFAULT 0 CHECK (refunded >= 0),
  state               TEXT NOT NULL CHECK (state IN ('applied', 'suspense', 'refunding', 'refunded')),
  reason              TEXT NOT NULL DEFAULT '',
  note                TEXT NOT NULL DEFAULT '',
  -- As M-Pesa sent it, masked; phone is the full number when known.
  msisdn              TEXT NOT NULL DEFAULT '',
  phone               TEXT NOT NULL DEFAULT '',
  checkout_request_id TEXT UNIQUE,
  paid_at             INTEGER NOT NULL,
  received_at         INTEGER NOT NULL,
  suspense_since      INTEGER,
  updated_at          INTEGER NOT NULL,
  CHECK (applied + suspense + refunded = amount),
  CHECK ((state IN ('suspense', 'refunding')) = (suspense > 0)),
  CHECK ((state = 'refunded') = (suspense = 0 AND refunded > 0)),
  CHECK (suspense = 0 OR reason <> '')
);
CREATE INDEX received_payments_open ON received_payments (suspense_since) WHERE suspense > 0;
CREATE INDEX received_payments_by_invoice ON received_payments (invoice_number);
CREATE INDEX received_payments_by_time ON received_payments (paid_at);

CREATE TABLE payment_moves (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  payment_id     INTEGER NOT NULL REFERENCES received_payments(id),
  from_bucket    TEXT NOT NULL CHECK (from_bucket IN ('received', 'suspense')),
  to_bucket      TEXT NOT NULL CHECK (to_bucket IN ('applied', 'suspense', 'refunded')),
  amount         INTEGER NOT NULL CHECK (amount > 0),
  invoice_number TEXT,
  reason         TEXT NOT NULL DEFAULT '',
  actor          TEXT NOT NULL DEFAULT '',
  at             INTEGER NOT NULL,
  CHECK ((to_bucket = 'applied') = (invoice_number IS NOT NULL))
);
CREATE INDEX payment_moves_by_payment ON payment_moves (payment_id, id);
CREATE INDEX payment_moves_by_time ON payment_moves (at);

-- What the gateway took before this ledger: paybill payments that paid
-- their invoice, those it only logged (held now, for an officer), and
-- invoices a prompt paid (a status query's have no receipt: provisional).
INSERT INTO received_payments (trans_id, source, account, invoice_number, amount, applied, state, msisdn, paid_at, received_at, updated_at)
  SELECT c.trans_id, 'c2b', c.invoice_number, c.invoice_number, c.amount, c.amount, 'applied', c.msisdn, c.received_at, c.received_at, c.received_at
  FROM c2b_payments c JOIN invoices i ON i.number = c.invoice_number AND i.mpesa_receipt = c.trans_id WHERE c.amount > 0;
INSERT INTO received_payments (trans_id, source, account, invoice_number, amount, suspense, state, reason, msisdn, paid_at, received_at, suspense_since, updated_at)
  SELECT c.trans_id, 'c2b', c.invoice_number, c.invoice_number, c.amount, c.amount, 'suspense', 'unmatched_before_upgrade', c.msisdn,
         c.received_at, c.received_at, c.received_at, c.received_at
  FROM c2b_payments c WHERE c.amount > 0 AND NOT EXISTS (SELECT 1 FROM received_payments r WHERE r.trans_id = c.trans_id);
INSERT INTO received_payments (trans_id, source, account, invoice_number, amount, applied, state, paid_at, received_at, updated_at)
  SELECT COALESCE(i.mpesa_receipt, 'stk:legacy:' || i.number), 'legacy', i.number, i.number, i.total, i.total, 'applied',
         COALESCE(i.paid_at, i.created_at), COALESCE(i.paid_at, i.created_at), COALESCE(i.paid_at, i.created_at)
  FROM invoices i WHERE i.status = 'paid' AND i.total > 0
    AND NOT EXISTS (SELECT 1 FROM received_payments r WHERE r.invoice_number = i.number AND r.applied > 0);
INSERT INTO payment_moves (payment_id, from_bucket, to_bucket, amount, invoice_number, reason, actor, at)
  SELECT id, 'received', CASE WHEN applied > 0 THEN 'applied' ELSE 'suspense' END, amount,
         CASE WHEN applied > 0 THEN invoice_number END, reason, 'migration', received_at
  FROM received_payments;
