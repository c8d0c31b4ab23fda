-- Six-hour edge rollups (ARCHITECTURE.md, "Storage decisions"): the same rows as edge_hour, one per block of
-- six UTC hours (00, 06, 12, 18), built by the maintenance job from edge_hour once the block is closed. A 24 h
-- service map then reads 3 or 4 block rows per key instead of 18 to 24 hour rows.
CREATE TABLE edge_6h (LIKE edge_minute INCLUDING DEFAULTS, PRIMARY KEY (bucket, src_namespace, src_service, dst_namespace, dst_service, protocol, status_class)) PARTITION BY RANGE (bucket);

-- Blocks whose edge_6h rows must be (re)built: the job marks a block when it rebuilds one of its hours, in the
-- same transaction, and clears the mark when it rebuilds the block. Readers use a block only when it is
-- closed, not marked here, and none of its hours is in rollup_dirty_hours.
CREATE TABLE rollup_dirty_blocks (
  block      timestamptz PRIMARY KEY,
  marked_at  timestamptz NOT NULL DEFAULT now()
);

-- Hour rollups stored before this migration: their blocks are built by the next job run (until then the
-- readers use the hour rows, as before).
INSERT INTO rollup_dirty_blocks (block)
SELECT DISTINCT date_bin('6 hours', bucket, TIMESTAMPTZ '1970-01-01 00:00:00+00') FROM edge_hour;
