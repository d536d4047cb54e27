-- The payments worker claims due jobs by kind (prompts before status
-- queries, each with its own share of the workers), so a claim for the few
-- due pushes must not walk past thousands of due queries.
CREATE INDEX jobs_kind_due ON jobs (kind, run_at) WHERE done_at IS NULL;
