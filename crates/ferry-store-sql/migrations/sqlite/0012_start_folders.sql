-- The folder an SFTP or FTPS session of the user starts in, when an administrator chose one
-- other than the home folder (issue 16: `ferry user start-folder`).
CREATE TABLE user_start_folders (
    user_id   INTEGER PRIMARY KEY REFERENCES users (id),
    folder_id INTEGER NOT NULL REFERENCES folders (id)
);
