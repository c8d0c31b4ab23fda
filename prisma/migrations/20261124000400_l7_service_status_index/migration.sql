-- "Errors towards a service" is the incident query: serve (service, status) without scanning every
-- exchange of a busy service.
CREATE INDEX l7_events_dst_service_code_idx ON l7_events (dst_service, http_code, time DESC, event_id DESC) WHERE http_code IS NOT NULL;
