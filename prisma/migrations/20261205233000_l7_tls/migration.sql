-- TLS plaintext (#17): the record was decoded from TLS plaintext read by uprobes in libssl.so.3 ('openssl') or in
-- the node binary ('node'). NULL: cleartext on the wire. No default, so adding it rewrites no partition.
ALTER TABLE l7_events ADD COLUMN tls text;
