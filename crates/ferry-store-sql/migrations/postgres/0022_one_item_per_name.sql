-- One item per name in a folder: a live file and a live folder never share a name key in the
-- same folder. The file protocols name items by path, and a path must lead to one thing: a
-- file beside a folder of its name was listed twice over SFTP and FTPS and could not be
-- reached at all (the folder won the path). Each kind's unique index covers its own kind;
-- these triggers cover each kind against the other, whichever way an item comes to a name:
-- made, renamed, moved or restored, by any node, the CLI or an operator's SQL. Every writer
-- of files and folders holds the audit head's row lock until it commits, so two of them
-- cannot both find a name free. Names shared before this migration are left as they were.
-- The refusals' messages are matched in src/errors.rs; the code is a unique violation's.
CREATE FUNCTION ferry_name_not_the_other_kinds() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'files' THEN
        IF EXISTS (SELECT 1 FROM folders
                   WHERE parent_id = NEW.folder_id AND name_key = NEW.name_key
                     AND deleted = 0) THEN
            RAISE EXCEPTION 'ferry: a folder has that name' USING ERRCODE = 'unique_violation';
        END IF;
    ELSIF EXISTS (SELECT 1 FROM files
                  WHERE folder_id = NEW.parent_id AND name_key = NEW.name_key
                    AND deleted = 0) THEN
        RAISE EXCEPTION 'ferry: a file has that name' USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER files_name_on_insert BEFORE INSERT ON files
    FOR EACH ROW WHEN (NEW.deleted = 0)
    EXECUTE FUNCTION ferry_name_not_the_other_kinds();
CREATE TRIGGER files_name_on_update BEFORE UPDATE OF folder_id, name_key, deleted ON files
    FOR EACH ROW WHEN (NEW.deleted = 0 AND (OLD.deleted <> 0 OR NEW.folder_id <> OLD.folder_id
                                           OR NEW.name_key <> OLD.name_key))
    EXECUTE FUNCTION ferry_name_not_the_other_kinds();
CREATE TRIGGER folders_name_on_insert BEFORE INSERT ON folders
    FOR EACH ROW WHEN (NEW.deleted = 0)
    EXECUTE FUNCTION ferry_name_not_the_other_kinds();
CREATE TRIGGER folders_name_on_update BEFORE UPDATE OF parent_id, name_key, deleted ON folders
    FOR EACH ROW WHEN (NEW.deleted = 0 AND (OLD.deleted <> 0
                                           OR NEW.parent_id IS DISTINCT FROM OLD.parent_id
                                           OR NEW.name_key <> OLD.name_key))
    EXECUTE FUNCTION ferry_name_not_the_other_kinds();
