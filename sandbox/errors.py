"""Domain errors and every error text a user can see, as named constants.

Services raise these; ``api/envelope.py`` is the one place that turns them (and the framework's own
errors) into the documented envelope. The one thing a reader might get wrong: a refused business
rule is a ``ValidationFailed`` (400 ``VALIDATION_ERROR``) whose ``details`` name the rule, because
the public docs define no other status for refusals (README, assumptions G4).
"""

from __future__ import annotations

VALIDATION_ERROR = "VALIDATION_ERROR"
UNAUTHORIZED = "UNAUTHORIZED"
NOT_FOUND = "NOT_FOUND"
MISSING_PHONE_NUMBER = "MISSING_PHONE_NUMBER"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
RATE_LIMITED = "RATE_LIMITED"
PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
INTERNAL_ERROR = "INTERNAL_ERROR"

MSG_INVALID_INPUT = "Invalid input data"
MSG_AUTH_REQUIRED = "Authentication required"
MSG_NOT_FOUND = "Resource not found"
MSG_MISSING_PHONE = "No caller phone number configured"
MSG_METHOD_NOT_ALLOWED = "Method not allowed"
MSG_UNSUPPORTED_MEDIA = "Content-Type must be application/json"
MSG_RATE_LIMITED = "Too many requests"
MSG_PAYLOAD_TOO_LARGE = "Request body too large"
MSG_INTERNAL = "Internal error"


class SandboxError(Exception):
    status = 500
    code = INTERNAL_ERROR
    message = MSG_INTERNAL

    def __init__(self, details: list[str] | None = None):
        super().__init__("; ".join(details or []) or self.message)
        self.details = list(details or [])


class ValidationFailed(SandboxError):
    status = 400
    code = VALIDATION_ERROR
    message = MSG_INVALID_INPUT


class NotFound(SandboxError):
    status = 404
    code = NOT_FOUND
    message = MSG_NOT_FOUND


class MissingPhoneNumber(SandboxError):
    status = 400
    code = MISSING_PHONE_NUMBER
    message = MSG_MISSING_PHONE


class Unauthorized(SandboxError):
    status = 401
    code = UNAUTHORIZED
    message = MSG_AUTH_REQUIRED


class PayloadTooLarge(SandboxError):
    status = 413
    code = PAYLOAD_TOO_LARGE
    message = MSG_PAYLOAD_TOO_LARGE


class UnsupportedMediaType(SandboxError):
    status = 415
    code = UNSUPPORTED_MEDIA_TYPE
    message = MSG_UNSUPPORTED_MEDIA


class RateLimited(SandboxError):
    status = 429
    code = RATE_LIMITED
    message = MSG_RATE_LIMITED


def found(record):
    """The record, or the documented 404 when the id names nothing of this tenant."""
    if record is None:
        raise NotFound()
    return record


def refuse_if(problems: list[str]) -> None:
    """Raise the 400 with every problem found, or nothing when there is none."""
    if problems:
        raise ValidationFailed(problems)


def invalid(*details: str) -> ValidationFailed:
    return ValidationFailed(list(details))
