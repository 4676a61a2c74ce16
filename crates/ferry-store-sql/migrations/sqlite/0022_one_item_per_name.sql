-- One item per name in a folder: a live file and a live folder never share a name key in the
-- same folder. The file protocols name items by path, and a path must lead to one thing: a
-- file beside a folder of its name was listed twice over SFTP and FTPS and could not be
-- reached at all (the folder won the path). Each kind's unique index covers its own kind;
-- these triggers cover each kind against the other, whichever way an item comes to a name:
-- made, renamed, moved or restored, by the server, the CLI or an operator's SQL. Names
-- shared before this migration are left as they were. The refusals' messages are matched in
-- src/errors.rs.
CREATE TRIGGER files_name_not_a_folders_on_insert BEFORE INSERT ON files
WHEN NEW.deleted = 0 AND EXISTS (
    SELECT 1 FROM folders
    WHERE parent_id = NEW.folder_id AND name_key = NEW.name_key AND deleted = 0)
BEGIN
    SELECT RAISE(ABORT, 'ferry: a folder has that name');
END;

CREATE TRIGGER files_name_not_a_folders_on_update
BEFORE UPDATE OF folder_id, name_key, deleted ON files
WHEN NEW.deleted = 0
    AND (OLD.deleted <> 0 OR NEW.folder_id <> OLD.folder_id OR NEW.name_key <> OLD.name_key)
    AND EXISTS (
        SELECT 1 FROM folders
        WHERE parent_id = NEW.folder_id AND name_key = NEW.name_key AND deleted = 0)
BEGIN
    SELECT RAISE(ABORT, 'ferry: a folder has that name');
END;

CREATE TRIGGER folders_name_not_a_files_on_insert BEFORE INSERT ON folders
WHEN NEW.deleted = 0 AND EXISTS (
    SELECT 1 FROM files
    WHERE folder_id = NEW.parent_id AND name_key = NEW.name_key AND deleted = 0)
BEGIN
    SELECT RAISE(ABORT, 'ferry: a file has that name');
END;

CREATE TRIGGER folders_name_not_a_files_on_update
BEFORE UPDATE OF parent_id, name_key, deleted ON folders
WHEN NEW.deleted = 0
    AND (OLD.deleted <> 0 OR NEW.parent_id IS NOT OLD.parent_id
         OR NEW.name_key <> OLD.name_key)
    AND EXISTS (
        SELECT 1 FROM files
        WHERE folder_id = NEW.parent_id AND name_key = NEW.name_key AND deleted = 0)
BEGIN
    SELECT RAISE(ABORT, 'ferry: a file has that name');
END;
