-- L7 at line rate (docs/l7-line-rate.md): why the record of an exchange that the kernel also counted in an
-- aggregate was kept (error, slow, capture, sampled). NULL: the full path, where the record is the only count
-- of its exchange. Rollups and metrics count records only when it is NULL (the aggregate counts the others).
-- No default, so adding it rewrites no partition.
ALTER TABLE l7_events ADD COLUMN sampling text;
