"""The read-only JSON API for integrations (/api/v1), behind per-client API keys.

`schemas` declares the request and response shapes once, as pydantic models: the views validate
query parameters and build every body with them, and `openapi` generates the served OpenAPI
document from them. `views` holds the routes; the keys themselves are in domain/api_keys.py.
"""

from .views import bp

__all__ = ["bp"]
