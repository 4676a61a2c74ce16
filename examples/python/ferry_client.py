"""A small client for Ferry's JSON API, using only `requests`.

Every API method is `POST /api/v1/{Method}` with a JSON object of its parameters; errors answer
`{"ErrorCode": n, "Message": "..."}` (see docs/errors.md), raised here as `FerryError`.
"""

import argparse
import hashlib
from urllib.parse import quote

import requests


class FerryError(Exception):
    """An error answer of the API."""

    def __init__(self, status, code, message):
        super().__init__(f"HTTP {status}, ErrorCode {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class FerryClient:
    """Calls Ferry's API methods on one server."""

    SESSION_NO_LONGER_EXISTS = 101

    def __init__(self, base_url, timeout=30):
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()
        self.timeout = timeout

    def call(self, method, **params):
        """Calls `method` with `params`; returns the decoded answer, or None for no content."""
        response = self.http.post(
            f"{self.base_url}/api/v1/{method}", json=params, timeout=self.timeout
        )
        if response.status_code == 204:
            return None
        body = response.json()
        if response.status_code != 200:
            raise FerryError(response.status_code, body.get("ErrorCode"), body.get("Message"))
        return body

    def open(self, user_name, password, application_id, client_version="ferry-python-example/1"):
        """Signs in; returns FTHSessionData ({"SessionID": ..., "UserID": ...})."""
        return self.call(
            "Open",
            userName=user_name,
            password=password,
            applicationID=application_id,
            clientVersion=client_version,
        )

    def current_user(self, session_id):
        """Returns FTHUserData for a live session."""
        return self.call("GetCurrentUser", sessionID=session_id)

    def close(self, session_id):
        """Ends the session."""
        self.call("Close", sessionID=session_id)

    def upload(self, session_id, folder_id, name, data, overwrite=True):
        """Uploads bytes (or a file object, streamed) as `name` into a folder; returns FTHFileData.
        The SHA-256 is declared when `data` is bytes, so a corrupted transfer stores nothing."""
        headers = {"X-Session-ID": session_id}
        if isinstance(data, (bytes, bytearray)):
            headers["X-Content-SHA256"] = hashlib.sha256(data).hexdigest()
        response = self.http.put(
            f"{self.base_url}/api/v1/folders/{folder_id}/files/{quote(name, safe='')}",
            params={"overwrite": "true" if overwrite else "false"},
            data=data,
            headers=headers,
            timeout=self.timeout,
        )
        body = response.json()
        if response.status_code != 200:
            raise FerryError(response.status_code, body.get("ErrorCode"), body.get("Message"))
        return body

    def download(self, session_id, file_id, out):
        """Streams a file's content into the binary file object `out`; returns its SHA-256."""
        digest = hashlib.sha256()
        with self.http.get(
            f"{self.base_url}/api/v1/files/{file_id}/content",
            headers={"X-Session-ID": session_id},
            stream=True,
            timeout=self.timeout,
        ) as response:
            if response.status_code != 200:
                body = response.json()
                raise FerryError(response.status_code, body.get("ErrorCode"), body.get("Message"))
            for chunk in response.iter_content(chunk_size=256 * 1024):
                digest.update(chunk)
                out.write(chunk)
        return digest.hexdigest()


def connect_from_command_line(description):
    """Parses --url, --user, --password and --application-id; returns (client, arguments)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--application-id", type=int, required=True)
    args = parser.parse_args()
    return FerryClient(args.url), args
