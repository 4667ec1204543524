-- The body digest that recognises a sender's retry becomes keyed: POLYVAL (RFC 8452) under a random
-- key, finished by HMAC-SHA-256 under the key's other half (see `BodyDigest` in the Ingest module).
-- SHA-256 cost the receiver about 0.7 ns per byte on one core, an eighth of its CPU; POLYVAL costs about
-- 0.2. A universal hash needs a key senders cannot know: with one, two different bodies of up to n
-- 16-byte blocks share a digest with probability at most n / 2^128. Never edit this file once shipped.
--
-- The key is made here, once per database, by SQLite's randomness. It is not a credential: it guards
-- only against bodies crafted to collide, by someone who could already post to the receiver, and
-- whoever can read this database can read the spooled lines anyway. It never leaves the database.
CREATE TABLE stream_digest_key (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    key BLOB NOT NULL CHECK (length(key) = 32)
) STRICT;
INSERT INTO stream_digest_key (id, key) VALUES (1, randomblob(32));

-- The keyed digest of every decompressed body accepted in the last hour, written in the same
-- transaction as its lines. `stream_bodies` (SHA-256) is still read, and forgotten, while it holds
-- bodies accepted by the version before this one, so a retry across the upgrade is still recognised.
CREATE TABLE stream_body_digests (
    digest BLOB PRIMARY KEY,
    accepted_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX stream_body_digests_by_time ON stream_body_digests (accepted_at);
