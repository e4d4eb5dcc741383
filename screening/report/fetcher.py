"""The only way the PDF renderer may read anything: the package's own static files.

WeasyPrint's default fetcher reads http, https, ftp and file URLs and follows redirects; a summary
built from patients' answers must never make it fetch anything (SSRF) or embed a server file.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

from ..paths import STATIC_DIR


class RefusedURL(ValueError):
    """A URL the renderer may not read; WeasyPrint skips the resource and goes on."""


class PackageAssetFetcher(URLFetcher):
    """Serves file: URLs inside the static folder (and data: URLs we build); refuses the rest."""

    def __init__(self, root: Path = STATIC_DIR):
        super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False, timeout=1)
        self.root = root.resolve()
        self.refused: list[str] = []

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file" and parts.netloc in ("", "localhost"):
            path = Path(unquote(parts.path)).resolve()
            if path.is_relative_to(self.root) and path.is_file():
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(
                    path.as_uri(), path.read_bytes(), {"Content-Type": content_type}
                )
        self.refused.append(url)
        raise RefusedURL("the PDF renderer reads only the application's own files")
