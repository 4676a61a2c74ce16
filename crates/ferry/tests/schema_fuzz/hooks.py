"""schemathesis hooks for Ferry's JSON API: every generated body carries a live session, so
the generated calls reach the methods' own checks instead of stopping at error 101.
The session comes from FERRY_SESSION (set by tests/schema_fuzz.rs)."""
import os

import schemathesis

SESSION = os.environ["FERRY_SESSION"]


@schemathesis.hook
def map_body(ctx, body):
    if isinstance(body, dict):
        for key in list(body):
            if key.lower() in ("sessionid", "servicesessionid"):
                body[key] = SESSION
    return body
