"""Errors the portal's services raise: a machine code, an HTTP status, and a message marked for translation."""

from __future__ import annotations

from .i18n import N_


class PortalError(Exception):
    """A request that cannot be done. `message` is an untranslated `N_()` string; `params` fill it in."""

    status = 400

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message % params if params else message)
        self.code = code
        self.message = message
        self.params = params


class Invalid(PortalError):
    """Bad input. `fields` maps a form field to its (untranslated) message."""

    status = 400

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("invalid", next(iter(fields.values())))
        self.fields = fields


class Forbidden(PortalError):
    status = 403


class NotFoundError(PortalError):
    status = 404


class Conflict(PortalError):
    status = 409


class TooMany(PortalError):
    status = 429


class Unavailable(PortalError):
    """Something we depend on (the SMS gateway) failed; trying again later may work."""

    status = 503


class LoginRequired(PortalError):
    """No session of the needed kind: pages redirect to `login_url`, JSON endpoints answer 401."""

    status = 401

    def __init__(self, login_url: str) -> None:
        super().__init__("login_required", N_("Please log in."))
        self.login_url = login_url


class Internal(PortalError):
    """A fault of ours (logged): the visitor gets the documented shape, never a traceback."""

    status = 500

    def __init__(self) -> None:
        super().__init__("internal", N_("Something went wrong on our side. Please try again."))
