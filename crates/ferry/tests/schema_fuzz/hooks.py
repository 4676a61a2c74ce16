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


def body_properties(ctx):
    """The JSON body's properties of the operation being generated (inlined by Ferry)."""
    try:
        content = ctx.operation.definition.raw["requestBody"]["content"]
        return content["application/json"]["schema"].get("properties", {})
    except (AttributeError, KeyError, TypeError):
        return {}


def beyond_byte_bound(prop, value):
    """A string the schema refuses only for its length in characters, made too long in bytes
    as well: JSON Schema counts characters where Ferry counts bytes of UTF-8, so the schema
    states a character bound that always fits (`maxLength`) and the real one in
    `x-ferry-max-bytes`. A schema-valid string never passes `maxLength`, so only the calls
    schemathesis means to be invalid are changed, and they stay invalid."""
    limit = prop.get("x-ferry-max-bytes")
    if limit is None or len(value) <= prop.get("maxLength", len(value)):
        return value
    missing = limit + 1 - len(value.encode("utf-8", "surrogatepass"))
    return value + "x" * max(missing, 0)


@schemathesis.hook
def map_body(ctx, body):
    # Only a GUID is replaced: a malformed one is left for the server to refuse (schemathesis
    # sends those on purpose, to check that invalid input is refused).
    if isinstance(body, dict):
        props = body_properties(ctx)
        for key in list(body):
            value = body[key]
            if key.lower() in ("sessionid", "servicesessionid") and is_guid(value):
                body[key] = SESSION
            elif isinstance(value, str) and isinstance(props.get(key), dict):
                body[key] = beyond_byte_bound(props[key], value)
    return body
