-- A download link may allow a number of downloads (`max_downloads`, set by its maker);
-- `downloads` counts those taken through it. Every download through a link's page looks its
-- link up by session: only limited links are in the index, so an unlimited link's download
-- finds nothing and writes nothing.
ALTER TABLE share_links ADD COLUMN max_downloads INTEGER;
ALTER TABLE share_links ADD COLUMN downloads INTEGER NOT NULL DEFAULT 0;
CREATE INDEX share_links_limited ON share_links (session_key) WHERE max_downloads IS NOT NULL;
