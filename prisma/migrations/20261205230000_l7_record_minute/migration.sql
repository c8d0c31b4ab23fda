-- L7 records stored per minute, edge, protocol and why each was kept (l7_events.sampling, '' for the full path),
-- upserted at ingest in the batch's transaction like edge_minute, so coverage.l7 reads these rows instead of
-- counting l7_events (about 0.36 s per million records). Each side named as the rollups name it. Partitioned by
-- day and dropped with the other rollups (ROLLUP_TABLES).
CREATE TABLE l7_record_minute (
  bucket          timestamptz NOT NULL,
  src_namespace   text        NOT NULL,
  src_service     text        NOT NULL,
  dst_namespace   text        NOT NULL,
  dst_service     text        NOT NULL,
  protocol        text        NOT NULL,
  sampling        text        NOT NULL,
  records         bigint      NOT NULL DEFAULT 0,
  PRIMARY KEY (bucket, src_namespace, src_service, dst_namespace, dst_service, protocol, sampling)
) PARTITION BY RANGE (bucket);

-- Since when a rollup holds every record of its times: records stored by an older version are not in
-- l7_record_minute, so coverage counts l7_events itself before this minute and the rollup from it on. Ingest takes
-- records up to 10 minutes ahead of the server's clock, so the first minute all of whose records were stored
-- after this migration is 11 minutes on.
CREATE TABLE rollup_epochs (
  name   text        PRIMARY KEY,
  since  timestamptz NOT NULL
);
INSERT INTO rollup_epochs (name, since) VALUES ('l7_record_minute', date_trunc('minute', now()) + interval '11 minutes');
