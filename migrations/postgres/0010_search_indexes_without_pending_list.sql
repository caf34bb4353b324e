-- New search entries go into the GIN indexes at once instead of a pending list. With
-- `fastupdate` on (PostgreSQL's default) each insert appends to a list that every search reads
-- in full until a vacuum or the 4 MB gin_pending_list_limit merges it: after a burst of
-- submissions a search's index scan took 3-9 ms instead of 0.04 ms (BENCHMARKS.md,
-- 2026-11-27). Without it an insert costs a little more (a 20,000-ticket insert 1.4 s
-- against 1.8-2.0 s), which a helpdesk's write rate affords.
ALTER INDEX tickets_search SET (fastupdate = off);
ALTER INDEX comments_search SET (fastupdate = off);
-- What is already pending is merged now.
SELECT gin_clean_pending_list('tickets_search'::regclass);
SELECT gin_clean_pending_list('comments_search'::regclass);
