"""The clinic's side: sign-in, the screenings list, invitations, review, users, the audit log."""

from . import admin, invitations, rescore, screenings, signin  # noqa: F401 - their routes
from .blueprint import bp

__all__ = ["bp"]
