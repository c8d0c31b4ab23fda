-- On-demand capture (docs/l7-line-rate.md, "On demand"): while a request here is open and not expired, every
-- collector records every HTTP exchange (collectors.control answers the latest expiry). A live tail opens one,
-- renews it every few seconds and closes it when it ends. One that is not renewed lapses on its own at
-- expires_at, so a crashed server leaves nothing running for long. State lives here, not in a server's memory,
-- so several server replicas see the same requests.
CREATE TABLE capture_requests (
  id          uuid        PRIMARY KEY,
  user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  reason      text        NOT NULL,
  filter      jsonb       NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  closed_at   timestamptz
);

-- The collectors' poll: the latest expiry among open requests.
CREATE INDEX capture_requests_open_idx ON capture_requests (expires_at DESC) WHERE closed_at IS NULL;
