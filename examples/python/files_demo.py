"""Creates a folder, uploads a file, lists it, downloads it, checks its SHA-256, deletes it.

    python3 files_demo.py --url http://127.0.0.1:8080 --user alice --password ... \
        --application-id 1000

Exits 0 when every step behaved as documented.
"""

import hashlib
import io
import os
import sys

from ferry_client import FerryError, connect_from_command_line


def main():
    ferry, args = connect_from_command_line(__doc__.splitlines()[0])
    session = ferry.open(args.user, args.password, args.application_id)["SessionID"]
    try:
        home = ferry.call("GetHomeFolder", sessionID=session)
        folder = ferry.call(
            "CreateFolder", sessionID=session, parentFolderID=home["FolderID"], name="Invoices 2026"
        )
        print(f"created folder {folder['Name']!r} ({folder['FolderID']})")

        data = os.urandom(1_500_000)
        uploaded = ferry.upload(session, folder["FolderID"], "invoice-001.pdf", data)
        assert uploaded["SHA256"] == hashlib.sha256(data).hexdigest()
        print(f"uploaded {uploaded['Name']}: {uploaded['Size']} bytes, version {uploaded['Version']}")

        listed = ferry.call("GetFiles", sessionID=session, folderID=folder["FolderID"], skip=0, take=10)
        assert [f["Name"] for f in listed] == ["invoice-001.pdf"]

        out = io.BytesIO()
        digest = ferry.download(session, uploaded["FileID"], out)
        assert digest == uploaded["SHA256"] and out.getvalue() == data
        print(f"downloaded it back, SHA-256 {digest[:16]}… matches")

        ferry.call("DeleteFile", sessionID=session, fileID=uploaded["FileID"])
        try:
            ferry.call("GetFile", sessionID=session, fileID=uploaded["FileID"])
        except FerryError as e:
            assert e.code == 202, e
            print("deleted it: GetFile now answers ErrorCode 202")
        else:
            print("error: the deleted file is still there", file=sys.stderr)
            return 1
    finally:
        ferry.close(session)
    return 0


if __name__ == "__main__":
    sys.exit(main())
