"""The read-only JSON API for integrations (/api/v1), behind per-client API keys.

`keys` makes, finds and revokes the keys (only their SHA-256 is stored); `views` holds the
routes; `spec` is the OpenAPI document and the query parameters it describes, which the views
validate against (one source for both).
"""

from .views import bp

__all__ = ["bp"]
