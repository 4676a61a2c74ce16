-- The modification time a client gave a version (SFTP SETSTAT, FTP MFMT), in milliseconds:
-- what SFTP and FTP clients are shown as the file's time, so that rclone sync, WinSCP and
-- `put -p` see the time they set (issue 16). NULL: none given; the upload time is shown.
ALTER TABLE files ADD COLUMN client_modified_at INTEGER;
ALTER TABLE file_versions ADD COLUMN client_modified_at INTEGER;
