"""What the web adapters (patient pages, staff pages, the JSON API) share without importing one
another: the session keys both sides read, and responses that keep health information out of
caches."""

from __future__ import annotations

from flask import Response
from werkzeug.routing import IntegerConverter

from .models import LARGEST_ID

# A clinic device handed to a patient (set by the staff side, read by the patient's pages):
# {"screening_id", "seen"}.
KIOSK_KEY = "kiosk"


class IdConverter(IntegerConverter):
    """`<id:name>` in a route: a row's id, 1 to LARGEST_ID; anything else is not found (404),
    never a query the database refuses (a 500)."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 (werkzeug's name)
        super().__init__(map, min=1, max=LARGEST_ID)


def pdf_response(content: bytes, sha256: str, filename: str) -> Response:
    """A PDF download that no cache keeps (it holds health information)."""
    response = Response(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["ETag"] = f'"{sha256}"'
    return response
