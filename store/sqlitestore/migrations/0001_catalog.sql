CREATE TABLE agencies (
  code TEXT PRIMARY KEY,
  name TEXT NOT NULL
);
CREATE TABLE categories (
  code    TEXT PRIMARY KEY,
  name_en TEXT NOT NULL,
  name_sw TEXT NOT NULL DEFAULT ''
);
-- fee is whole Kenyan shillings; money is never a float.
CREATE TABLE services (
  code          INTEGER PRIMARY KEY,
  name_en       TEXT NOT NULL,
  name_sw       TEXT NOT NULL DEFAULT '',
  agency_code   TEXT NOT NULL REFERENCES agencies(code),
  category_code TEXT NOT NULL REFERENCES categories(code),
  fee           INTEGER NOT NULL CHECK (fee >= 0),
  inputs        TEXT NOT NULL DEFAULT '[]',
  active        INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX services_by_category ON services (category_code, active, name_en, code);
CREATE TABLE fee_bands (
  min INTEGER PRIMARY KEY,
  fee INTEGER NOT NULL CHECK (fee >= 0)
);
-- version grows on every import, so processes holding a search index know
-- when to rebuild it.
CREATE TABLE catalog_meta (
  id      INTEGER PRIMARY KEY CHECK (id = 1),
  sample  INTEGER NOT NULL DEFAULT 0,
  version INTEGER NOT NULL DEFAULT 0
);
INSERT INTO catalog_meta (id) VALUES (1);
CREATE TABLE phone_preferences (
  msisdn     TEXT PRIMARY KEY,
  language   TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE ussd_session_events (
  provider      TEXT NOT NULL,
  session_id    TEXT NOT NULL,
  msisdn        TEXT NOT NULL DEFAULT '',
  status        TEXT NOT NULL DEFAULT '',
  input         TEXT NOT NULL DEFAULT '',
  last_response TEXT NOT NULL DEFAULT '',
  hops          INTEGER NOT NULL DEFAULT 0,
  duration_ms   INTEGER NOT NULL DEFAULT 0,
  error_message TEXT NOT NULL DEFAULT '',
  at            TEXT NOT NULL,
  PRIMARY KEY (provider, session_id)
);
