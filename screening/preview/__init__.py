"""`screening preview DEF.yaml`: a draft questionnaire as patients will see it, with its score,
its lint, its map and its diff against the version in force. No database, no accounts; refused
with SCREENING_ENV=production."""

from .app import PreviewRefused, create_preview_app, refuse_in_production

__all__ = ["PreviewRefused", "create_preview_app", "refuse_in_production"]
