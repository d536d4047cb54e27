-- Search moved into each gateway process (an in-memory trigram index,
-- store/trigram), so Postgres no longer searches services. Its trigram and
-- full-text indexes only slowed catalog imports; the generated columns and
-- the pg_trgm extension stay, as cheap insurance for ad-hoc SQL by
-- operators.
DROP INDEX IF EXISTS services_trgm;
DROP INDEX IF EXISTS services_trgm_gist;
DROP INDEX IF EXISTS services_tsv;
