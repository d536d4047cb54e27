-- Nearest-first trigram search (ORDER BY q <<-> name) needs GiST; the GIN
-- index stays for the full-text column only.
DROP INDEX IF EXISTS services_trgm;
CREATE INDEX services_trgm_gist ON services USING gist (search_name public.gist_trgm_ops) WHERE active;
