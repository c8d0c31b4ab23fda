-- Both ends of a same-node connection are reported, and rollups count it once, from the client side.
ALTER TABLE flows ADD COLUMN local_peer boolean NOT NULL DEFAULT false;
