"""The questionnaire's map as a PDF, for a clinical governance meeting (WeasyPrint, with the
report's fetcher: it reads the package's own files and data: URLs, nothing else)."""

from __future__ import annotations

import threading

from weasyprint import CSS, HTML

from ..paths import STATIC_DIR
from ..report.fetcher import PackageAssetFetcher

PAGE = CSS(string="@page { size: A3 landscape; margin: 12mm; }")
# Pango and fontconfig are not safe from two threads at once (see screening.report.render).
_lock = threading.Lock()


def map_pdf(html: str) -> bytes:
    with _lock:
        document = HTML(
            string=html, base_url=STATIC_DIR.as_uri() + "/", url_fetcher=PackageAssetFetcher()
        )
        return document.write_pdf(stylesheets=[PAGE], attachments=[])
