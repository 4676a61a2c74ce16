-- Small files' content kept in the database (issue 21): a file of at most `[files]
-- inline_max_kib` is written with its version record, in the same transaction, so it costs
-- the database's one commit instead of the content's fsync, its directory's fsync and the
-- commit. Keys start with `inline-`, which the content store never makes.
CREATE TABLE inline_contents (
    key   TEXT  PRIMARY KEY,
    bytes BYTEA NOT NULL
);
