-- Hour rollups are built by the maintenance job from minute rollups instead of at ingest (that halves the
-- rollup work on the ingest path). Ingest marks the hours it touched here, and the job recomputes each
-- marked hour once it is closed, so late data (a collector replaying its spool) is folded in as well.
CREATE TABLE rollup_dirty_hours (
  hour       timestamptz PRIMARY KEY,
  marked_at  timestamptz NOT NULL DEFAULT now()
);
