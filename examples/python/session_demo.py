"""Opens a session, uses it, closes it, and shows that the closed session is refused.

    python3 session_demo.py --url http://127.0.0.1:8080 --user alice --password ... \
        --application-id 1000

Exits 0 when every step behaved as documented.
"""

import sys

from ferry_client import FerryClient, FerryError, connect_from_command_line


def main():
    ferry, args = connect_from_command_line(__doc__.splitlines()[0])
    session = ferry.open(args.user, args.password, args.application_id)
    print(f"opened session for user {session['UserID']}")

    user = ferry.current_user(session["SessionID"])
    print(f"signed in as {user['Name']} (role {user['Role']}, e-mail {user['Email'] or '-'})")
    assert user["UserID"] == session["UserID"]

    ferry.close(session["SessionID"])
    print("closed the session")

    try:
        ferry.current_user(session["SessionID"])
    except FerryError as e:
        if e.code != FerryClient.SESSION_NO_LONGER_EXISTS:
            raise
        print(f"the closed session is refused: ErrorCode {e.code}")
    else:
        print("error: the closed session still works", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
