"""Domain errors that interfaces turn into answers (the API into 409, the admin into a message)."""


class ConflictError(Exception):
    """The request is valid but the current state forbids it, e.g. deleting history."""


class LimitReached(Exception):
    """A rate limit refused the action; nothing was done. `retry_after`: whole seconds until it may be tried again."""

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after
