-- L7 decode coverage per connection (issue 17, packages/shared l7-coverage.ts): whether a TCP connection's
-- payload was decoded and how (cleartext, tls-openssl, tls-node) or not (tls-undecoded, http2-undecodable,
-- unrecognized). NULL: no class (no payload, reported by its other end, not TCP). No default, so adding it
-- rewrites no partition.
ALTER TABLE flows ADD COLUMN l7_coverage text;

-- Connections per minute, edge and decode class, upserted at ingest in the batch's transaction like edge_minute
-- (final rows only, a same-node connection once from its client side). A workload's coverage sums the rows where
-- it is either end. Partitioned by day and dropped with the other rollups (ROLLUP_TABLES).
CREATE TABLE l7_coverage_minute (
  bucket          timestamptz NOT NULL,
  src_namespace   text        NOT NULL,
  src_service     text        NOT NULL,
  dst_namespace   text        NOT NULL,
  dst_service     text        NOT NULL,
  class           text        NOT NULL,
  connections     bigint      NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket, src_namespace, src_service, dst_namespace, dst_service, class)
) PARTITION BY RANGE (bucket);
