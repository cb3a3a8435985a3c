"""Domain errors that interfaces turn into answers (the API into 409, the admin into a message)."""


class ConflictError(Exception):
    """The request is valid but the current state forbids it, e.g. deleting history."""
