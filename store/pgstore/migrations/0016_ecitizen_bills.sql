-- The ecitizen billing backend: each invoice's bill number on e-Citizen
-- (NULL until e-Citizen answered, or on the ledger backend), unique, since
-- a notification finds its invoice by it; and a job dedupe key, so an
-- invoice's checkout job is added once whatever repeats.
ALTER TABLE invoices ADD COLUMN bill_number text;
CREATE UNIQUE INDEX invoices_bill_number ON invoices (bill_number) WHERE bill_number IS NOT NULL;
ALTER TABLE jobs ADD COLUMN dedupe_key text;
CREATE UNIQUE INDEX jobs_dedupe_key ON jobs (dedupe_key);
