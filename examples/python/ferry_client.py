"""A small client for Ferry's JSON API, using only `requests`.

Every API method is `POST /api/v1/{Method}` with a JSON object of its parameters; errors answer
`{"ErrorCode": n, "Message": "..."}` (see docs/errors.md), raised here as `FerryError`.
"""

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
