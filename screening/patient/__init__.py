"""The patient's questionnaire: link, welcome, steps, review, submission, result."""

from .views import bp

__all__ = ["bp"]
