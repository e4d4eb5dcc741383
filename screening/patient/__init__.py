"""The patient's questionnaire: link, welcome, steps, review, submission, result."""

from . import entry, finish, identity, steps  # noqa: F401 - their routes
from .blueprint import bp

__all__ = ["bp"]
