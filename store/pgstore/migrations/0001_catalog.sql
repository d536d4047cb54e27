-- pg_trgm lives in public so every schema on the search path sees it.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

CREATE TABLE agencies (
  code text PRIMARY KEY,
  name text NOT NULL
);
CREATE TABLE categories (
  code    text PRIMARY KEY,
  name_en text NOT NULL,
  name_sw text NOT NULL DEFAULT ''
);
-- fee is whole Kenyan shillings; money is never a float.
CREATE TABLE services (
  code          integer PRIMARY KEY,
  name_en       text NOT NULL,
  name_sw       text NOT NULL DEFAULT '',
  agency_code   text NOT NULL REFERENCES agencies(code),
  category_code text NOT NULL REFERENCES categories(code),
  fee           bigint NOT NULL CHECK (fee >= 0),
  inputs        jsonb NOT NULL DEFAULT '[]',
  active        boolean NOT NULL DEFAULT true,
  search_name   text GENERATED ALWAYS AS (lower(name_en || ' ' || name_sw)) STORED,
  search_tsv    tsvector GENERATED ALWAYS AS (to_tsvector('simple', name_en || ' ' || name_sw)) STORED
);
CREATE INDEX services_by_category ON services (category_code, active, name_en, code);
CREATE INDEX services_trgm ON services USING gin (search_name public.gin_trgm_ops) WHERE active;
CREATE INDEX services_tsv ON services USING gin (search_tsv) WHERE active;
CREATE TABLE fee_bands (
  min bigint PRIMARY KEY,
  fee bigint NOT NULL CHECK (fee >= 0)
);
CREATE TABLE catalog_meta (
  id      integer PRIMARY KEY CHECK (id = 1),
  sample  boolean NOT NULL DEFAULT false,
  version bigint NOT NULL DEFAULT 0
);
INSERT INTO catalog_meta (id) VALUES (1);
CREATE TABLE phone_preferences (
  msisdn     text PRIMARY KEY,
  language   text NOT NULL CHECK (language IN ('en', 'sw')),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE ussd_session_events (
  provider      text NOT NULL,
  session_id    text NOT NULL,
  msisdn        text NOT NULL DEFAULT '',
  status        text NOT NULL DEFAULT '',
  input         text NOT NULL DEFAULT '',
  last_response text NOT NULL DEFAULT '',
  hops          integer NOT NULL DEFAULT 0,
  duration_ms   bigint NOT NULL DEFAULT 0,
  error_message text NOT NULL DEFAULT '',
  at            timestamptz NOT NULL,
  PRIMARY KEY (provider, session_id)
);
