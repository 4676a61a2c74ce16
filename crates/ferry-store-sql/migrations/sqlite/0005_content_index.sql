-- Looking up whether any version still references a content object (the orphan sweep).
CREATE INDEX file_versions_by_content ON file_versions (content_key);
