-- How many SMS parts each message needs (160 GSM-7 characters in one part,
-- 153 per part when longer; UCS-2 70/67), counted when it is queued.
ALTER TABLE outbox ADD COLUMN parts INTEGER NOT NULL DEFAULT 1;
