"""The OpenAPI description of the answers every operation may give, errors included.

drf-spectacular documents the success answer; a client also needs to know that it may
get a 400 naming the field, a 401 or 403, a 404, a 409 on a conflicting write, a 415 for a
body it cannot read, a 429 past its rate, or a 503 when the broker is away, and what such a
body looks like.
"""

from drf_spectacular.openapi import AutoSchema

_ERROR_BODY = {
    "application/json": {
        "schema": {
            "type": "object",
            "description": "`detail` with a reason, or each field's name with a list of reasons.",
            "additionalProperties": True,
        }
    }
}
_ALWAYS = {
    "400": "The request is not valid: the body names each field and why.",
    "401": "No credentials, or a wrong token.",
    "403": "The token's user lacks the permission this needs.",
    "404": "No such object, or no such page.",
}
_THROTTLED = {
    "description": "Too many requests: `detail` names the rate (per user, or per address without valid "
    "credentials); try again after `Retry-After` seconds.",
    "content": _ERROR_BODY,
    "headers": {
        "Retry-After": {
            "schema": {"type": "integer", "minimum": 1},
            "description": "Whole seconds until the rate's window ends and requests are taken again.",
        }
    },
}
_WRITES = {
    "409": "The change conflicts with the object's state (e.g. a finished mailing).",
    "415": "The body is not JSON, a form or multipart form data, or it cannot be read as its type says.",
}
_BROKER = {"503": "The broker (Redis) cannot be reached right now; try again."}


class ApiSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        extra = dict(_ALWAYS)
        if self.method != "GET":
            extra |= _WRITES | _BROKER
        for code, description in extra.items():
            responses.setdefault(code, {"description": description, "content": _ERROR_BODY})
        responses.setdefault("429", _THROTTLED)
        return responses
