"""What a use case (services/<name>/handlers.py) refuses, said without HTTP: the `api` entrypoint
answers each as problem+json with its status (shared/http.py); a command prints it as one line."""
from __future__ import annotations


class Refused(Exception):
    status, title = 400, "Bad Request"

    def __init__(self, detail: str, invalid_params: list[dict] | None = None):
        super().__init__(detail)
        self.detail, self.invalid_params = detail, invalid_params


class NotFound(Refused):
    """What the command names is not there, or not for this caller."""
    status, title = 404, "Not Found"


class Conflict(Refused):
    """The case's state does not allow it (now)."""
    status, title = 409, "Conflict"


class Invalid(Refused):
    """The command is well-formed but its content is refused, field by field (`invalid_params`)."""
    status, title = 422, "Unprocessable Content"


class Gone(Refused):
    """What the command names was there and was taken away on purpose (a withdrawn referral's details)."""
    status, title = 410, "Gone"
