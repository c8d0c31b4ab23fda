-- Telemetry tables: time-partitioned by day (partitions are created ahead and on demand, and dropped by
-- retention, from packages/db/src/partitions.ts). Written with COPY, never through Prisma models.

-- Connection-level L3/L4 flow records. Identity columns are denormalised for search, the rest of each
-- endpoint (labels, workloads, exe, cgroup path, container) sits in src_extra / dst_extra.
CREATE TABLE flows (
  time               timestamptz NOT NULL,
  end_time           timestamptz,
  flow_id            uuid        NOT NULL,
  collector_id       uuid        NOT NULL,
  batch_id           uuid        NOT NULL,
  node_name          text        NOT NULL,
  final              boolean     NOT NULL,
  verdict            text        NOT NULL,
  drop_reason        text,
  l4_protocol        text        NOT NULL,
  ip_version         smallint    NOT NULL,
  src_ip             inet        NOT NULL,
  src_port           integer,
  dst_ip             inet        NOT NULL,
  dst_port           integer,
  tcp_flags          smallint    NOT NULL DEFAULT 0,
  traffic_direction  text        NOT NULL,
  is_reply           boolean     NOT NULL,
  bytes_sent         bigint      NOT NULL,
  bytes_received     bigint      NOT NULL,
  packets_sent       bigint      NOT NULL,
  packets_received   bigint      NOT NULL,
  retransmits        bigint      NOT NULL,
  srtt_us            bigint,
  connect_latency_ns bigint,
  close_reason       text        NOT NULL,
  src_service        text,
  src_namespace      text,
  src_pod            text,
  src_process        text,
  src_pid            integer,
  src_names          text[],
  dst_service        text,
  dst_namespace      text,
  dst_pod            text,
  dst_process        text,
  dst_pid            integer,
  dst_names          text[],
  src_extra          jsonb,
  dst_extra          jsonb
) PARTITION BY RANGE (time);

-- Every search index ends in (time DESC, id DESC) so a filtered, newest-first page is an index range scan
-- that stops after one page, with no sort of all matching rows.
CREATE INDEX flows_time_idx ON flows (time DESC, flow_id DESC);
CREATE INDEX flows_src_service_idx ON flows (src_service, time DESC, flow_id DESC);
CREATE INDEX flows_dst_service_idx ON flows (dst_service, time DESC, flow_id DESC);
CREATE INDEX flows_src_ip_idx ON flows (src_ip, time DESC, flow_id DESC);
CREATE INDEX flows_dst_ip_idx ON flows (dst_ip, time DESC, flow_id DESC);
CREATE INDEX flows_flow_id_idx ON flows (flow_id);

-- L7 exchanges (HTTP, DNS, Kafka), each linked to its connection flow by flow_id.
CREATE TABLE l7_events (
  time               timestamptz NOT NULL,
  event_id           uuid        NOT NULL,
  flow_id            uuid        NOT NULL,
  collector_id       uuid        NOT NULL,
  batch_id           uuid        NOT NULL,
  node_name          text        NOT NULL,
  type               text        NOT NULL,
  protocol           text        NOT NULL,
  latency_ns         bigint,
  src_ip             inet        NOT NULL,
  src_port           integer,
  dst_ip             inet        NOT NULL,
  dst_port           integer,
  src_service        text,
  src_namespace      text,
  src_pod            text,
  src_process        text,
  src_names          text[],
  dst_service        text,
  dst_namespace      text,
  dst_pod            text,
  dst_process        text,
  dst_names          text[],
  http_method        text,
  http_path          text,
  http_code          smallint,
  dns_query          text,
  dns_rcode          smallint,
  kafka_api_key      text,
  kafka_topic        text,
  kafka_error_code   smallint,
  status_class       text        NOT NULL,
  detail             jsonb       NOT NULL,
  src_extra          jsonb,
  dst_extra          jsonb
) PARTITION BY RANGE (time);

CREATE INDEX l7_events_time_idx ON l7_events (time DESC, event_id DESC);
CREATE INDEX l7_events_src_service_idx ON l7_events (src_service, time DESC, event_id DESC);
CREATE INDEX l7_events_dst_service_idx ON l7_events (dst_service, time DESC, event_id DESC);
CREATE INDEX l7_events_http_code_idx ON l7_events (http_code, time DESC, event_id DESC) WHERE http_code IS NOT NULL;
CREATE INDEX l7_events_src_ip_idx ON l7_events (src_ip, time DESC, event_id DESC);
CREATE INDEX l7_events_dst_ip_idx ON l7_events (dst_ip, time DESC, event_id DESC);
CREATE INDEX l7_events_flow_id_idx ON l7_events (flow_id);

-- Per-minute and per-hour edge rollups: source → destination service, protocol, status class. The
-- service map and dashboards read these, never the raw rows. Latency histograms are sparse bucket arrays
-- in the shared bucket scheme (packages/shared/src/histogram.ts), merged by sextant_hist_merge.
CREATE TABLE edge_minute (
  bucket          timestamptz NOT NULL,
  src_namespace   text        NOT NULL,
  src_service     text        NOT NULL,
  dst_namespace   text        NOT NULL,
  dst_service     text        NOT NULL,
  protocol        text        NOT NULL,
  status_class    text        NOT NULL,
  requests        bigint      NOT NULL DEFAULT 0,
  errors          bigint      NOT NULL DEFAULT 0,
  bytes_sent      bigint      NOT NULL DEFAULT 0,
  bytes_received  bigint      NOT NULL DEFAULT 0,
  retransmits     bigint      NOT NULL DEFAULT 0,
  latency_sum_ns  double precision NOT NULL DEFAULT 0,
  hist_idx        smallint[]  NOT NULL DEFAULT '{}',
  hist_cnt        bigint[]    NOT NULL DEFAULT '{}',
  PRIMARY KEY (bucket, src_namespace, src_service, dst_namespace, dst_service, protocol, status_class)
) PARTITION BY RANGE (bucket);

CREATE TABLE edge_hour (LIKE edge_minute INCLUDING DEFAULTS, PRIMARY KEY (bucket, src_namespace, src_service, dst_namespace, dst_service, protocol, status_class)) PARTITION BY RANGE (bucket);

-- Kernel latency histograms (TCP connect latency, sRTT ...) read from BPF maps, per minute.
CREATE TABLE latency_minute (
  bucket          timestamptz NOT NULL,
  kind            text        NOT NULL,
  node_name       text        NOT NULL,
  src_namespace   text        NOT NULL,
  src_service     text        NOT NULL,
  dst_namespace   text        NOT NULL,
  dst_service     text        NOT NULL,
  samples         bigint      NOT NULL DEFAULT 0,
  hist_idx        smallint[]  NOT NULL DEFAULT '{}',
  hist_cnt        bigint[]    NOT NULL DEFAULT '{}',
  PRIMARY KEY (bucket, kind, node_name, src_namespace, src_service, dst_namespace, dst_service)
) PARTITION BY RANGE (bucket);

-- Merge two sparse histograms (sorted bucket index array + count array) by adding counts per bucket.
CREATE FUNCTION sextant_hist_merge(a_idx smallint[], a_cnt bigint[], b_idx smallint[], b_cnt bigint[],
                                   OUT idx smallint[], OUT cnt bigint[])
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(i ORDER BY i), '{}'), coalesce(array_agg(c ORDER BY i), '{}')
  FROM (
    SELECT i, sum(c)::bigint AS c
    FROM (
      SELECT * FROM unnest(a_idx, a_cnt) AS a(i, c)
      UNION ALL
      SELECT * FROM unnest(b_idx, b_cnt) AS b(i, c)
    ) s
    WHERE i IS NOT NULL
    GROUP BY i
  ) m
$$;
