"""The clinic's side: sign-in, the screenings list, invitations, review, users, the audit log."""

from . import account, admin, flags, invitations, rescore, screenings, signin  # noqa: F401 - routes
from .blueprint import bp

__all__ = ["bp"]
