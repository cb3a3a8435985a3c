"""What the sandbox provider checks of the bodies it is sent (mailings/sandbox.py)."""


def valid_send_body(body: object, msg_id: int) -> str | None:
    """None if the body is what the provider expects, else why not."""
    if not isinstance(body, dict):
        return "body must be a JSON object"
    if type(body.get("id")) is not int or body["id"] != msg_id:
        return "id must be the msgId of the path"
    phone = body.get("phone")
    if not isinstance(phone, int) or isinstance(phone, bool) or not (70000000000 <= phone <= 79999999999):
        return "phone must be an 11-digit integer starting with 7"
    if not isinstance(body.get("text"), str):
        return "text must be a string"
    return None


def reply_body_error(body: object) -> str | None:
    """None if `POST /replies`'s body is {"phone": str or number, "text": str}, else why not."""
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("phone"), str | int)
        or isinstance(body.get("phone"), bool)
    ):
        return "phone must be a string or a number"
    if not isinstance(body.get("text"), str):
        return "text must be a string"
    return None
