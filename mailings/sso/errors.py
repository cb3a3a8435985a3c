"""Why a single sign-on was refused, in words for the person who tried (views.py shows them)."""


class SsoRefused(Exception):
    """The sign-in is refused; `reason` is shown on the refusal page, `status` is its HTTP status."""

    def __init__(self, reason: str, *, status: int = 403):
        super().__init__(reason)
        self.reason = reason
        self.status = status


class ProviderUnavailable(SsoRefused):
    """The identity provider's discovery document or endpoints could not be read."""

    def __init__(self, reason: str):
        super().__init__(reason, status=503)
