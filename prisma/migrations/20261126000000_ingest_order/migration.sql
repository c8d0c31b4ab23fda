-- Live-tail cursor (ARCHITECTURE.md, "The live tail"): the id of the transaction that stored each row and a
-- per-row insertion number. All rows of one transaction become visible together, and every transaction older
-- than a snapshot's xmin has ended, so a tail that reads (ingest_xid, ingest_seq) only below xmin advances
-- without ever skipping a batch that commits late, whatever the rows' time.
-- The columns are added without a value for existing rows (no table rewrite) and then given defaults, so the
-- ingest COPY, which names its columns, fills them for every new row. Older rows are not tailed.
CREATE SEQUENCE sextant_ingest_seq AS bigint CACHE 64;

ALTER TABLE flows ADD COLUMN ingest_xid xid8;
ALTER TABLE flows ADD COLUMN ingest_seq bigint;
ALTER TABLE flows ALTER COLUMN ingest_xid SET DEFAULT pg_current_xact_id();
ALTER TABLE flows ALTER COLUMN ingest_seq SET DEFAULT nextval('sextant_ingest_seq');

ALTER TABLE l7_events ADD COLUMN ingest_xid xid8;
ALTER TABLE l7_events ADD COLUMN ingest_seq bigint;
ALTER TABLE l7_events ALTER COLUMN ingest_xid SET DEFAULT pg_current_xact_id();
ALTER TABLE l7_events ALTER COLUMN ingest_seq SET DEFAULT nextval('sextant_ingest_seq');

-- The tail's keyset: a range scan from the cursor in each partition. Partial, so existing rows cost nothing.
CREATE INDEX flows_ingest_idx ON flows (ingest_xid, ingest_seq) WHERE ingest_xid IS NOT NULL;
CREATE INDEX l7_events_ingest_idx ON l7_events (ingest_xid, ingest_seq) WHERE ingest_xid IS NOT NULL;
