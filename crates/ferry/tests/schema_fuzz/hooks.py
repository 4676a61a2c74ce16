"""schemathesis hooks for Ferry's JSON API: every generated body carries a live session, so
the generated calls reach the methods' own checks instead of stopping at error 101.
The session comes from FERRY_SESSION (set by tests/schema_fuzz.rs)."""
import os
import uuid

import schemathesis
from hypothesis import strategies as st

# tus sends its chunks as application/offset+octet-stream, which schemathesis does not know:
# bytes, as any chunk may be.
schemathesis.openapi.media_type("application/offset+octet-stream", st.binary(max_size=4096))

SESSION = os.environ["FERRY_SESSION"]


def is_guid(value):
    try:
        uuid.UUID(value)
        return True
    except (TypeError, ValueError, AttributeError):
        return False


@schemathesis.hook
def map_body(ctx, body):
    # Only a GUID is replaced: a malformed one is left for the server to refuse (schemathesis
    # sends those on purpose, to check that invalid input is refused).
    if isinstance(body, dict):
        for key in list(body):
            if key.lower() in ("sessionid", "servicesessionid") and is_guid(body[key]):
                body[key] = SESSION
    return body
