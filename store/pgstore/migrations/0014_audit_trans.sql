-- An audit row names the payment it concerns, so one row can record an
-- event that touched both a payment and its invoice (the money rules write
-- one row per event), and the payment's trail still finds it.
ALTER TABLE audit_log ADD COLUMN trans_id text;
CREATE INDEX audit_by_trans ON audit_log (trans_id, id) WHERE trans_id IS NOT NULL;
