-- One schema on both backends: times as Unix milliseconds (INTEGER) like
-- every ledger table. SQLite cannot change a column's type, so the three
-- tables that kept RFC 3339 text are rebuilt. TestSchemasMatch compares
-- the result with Postgres's.
CREATE TABLE phone_preferences_ms (
  msisdn     TEXT PRIMARY KEY,
  language   TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
INSERT INTO phone_preferences_ms (msisdn, language, updated_at)
  SELECT msisdn, language, CAST((julianday(updated_at) - 2440587.5) * 86400000 AS INTEGER) FROM phone_preferences;
DROP TABLE phone_preferences;
ALTER TABLE phone_preferences_ms RENAME TO phone_preferences;

CREATE TABLE ussd_session_events_ms (
  provider      TEXT NOT NULL,
  session_id    TEXT NOT NULL,
  msisdn        TEXT NOT NULL DEFAULT '',
  status        TEXT NOT NULL DEFAULT '',
  input         TEXT NOT NULL DEFAULT '',
  last_response TEXT NOT NULL DEFAULT '',
  hops          INTEGER NOT NULL DEFAULT 0,
  duration_ms   INTEGER NOT NULL DEFAULT 0,
  error_message TEXT NOT NULL DEFAULT '',
  at            INTEGER NOT NULL,
  PRIMARY KEY (provider, session_id)
);
INSERT INTO ussd_session_events_ms
  SELECT provider, session_id, msisdn, status, input, last_response, hops, duration_ms, error_message,
         CAST((julianday(at) - 2440587.5) * 86400000 AS INTEGER) FROM ussd_session_events;
DROP TABLE ussd_session_events;
ALTER TABLE ussd_session_events_ms RENAME TO ussd_session_events;

CREATE TABLE schema_migrations_ms (
  version    INTEGER PRIMARY KEY,
  applied_at INTEGER NOT NULL
);
INSERT INTO schema_migrations_ms
  SELECT version, CASE WHEN typeof(applied_at) = 'text' AND applied_at GLOB '*-*'
                       THEN CAST((julianday(applied_at) - 2440587.5) * 86400000 AS INTEGER)
                       ELSE CAST(applied_at AS INTEGER) END FROM schema_migrations;
DROP TABLE schema_migrations;
ALTER TABLE schema_migrations_ms RENAME TO schema_migrations;
