-- One schema on both backends: times as Unix milliseconds (bigint) like
-- every ledger table, JSON kept as text, and no Postgres-only columns
-- (search moved into each process; nothing reads the generated ones).
-- TestSchemasMatch compares the result with SQLite's.
ALTER TABLE phone_preferences ALTER COLUMN updated_at DROP DEFAULT;
ALTER TABLE phone_preferences ALTER COLUMN updated_at TYPE bigint USING (extract(epoch FROM updated_at) * 1000)::bigint;
ALTER TABLE ussd_session_events ALTER COLUMN at TYPE bigint USING (extract(epoch FROM at) * 1000)::bigint;
ALTER TABLE services DROP COLUMN IF EXISTS search_tsv;
ALTER TABLE services DROP COLUMN IF EXISTS search_name;
ALTER TABLE services ALTER COLUMN inputs DROP DEFAULT;
ALTER TABLE services ALTER COLUMN inputs TYPE text USING inputs::text;
ALTER TABLE services ALTER COLUMN inputs SET DEFAULT '[]';
-- The migration table itself: created with bigint by the runner on new
-- databases, converted here on older ones.
DO $$
BEGIN
  IF (SELECT data_type FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'schema_migrations' AND column_name = 'applied_at') = 'timestamp with time zone' THEN
    ALTER TABLE schema_migrations ALTER COLUMN applied_at DROP DEFAULT;
    ALTER TABLE schema_migrations ALTER COLUMN applied_at TYPE bigint USING (extract(epoch FROM applied_at) * 1000)::bigint;
  END IF;
END $$;
