"""The renderer fetches nothing, embeds nothing, and prints what patients typed as plain text.

A listening socket on loopback stands in for an internal service: markup in a patient's name or
answer must not make WeasyPrint connect to it, read server files, or attach them to the PDF.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from xml.etree import ElementTree

import pytest
from weasyprint import HTML, Attachment

from screening.definition import load_text
from screening.paths import STATIC_DIR
from screening.report.fetcher import PackageAssetFetcher, RefusedURL
from screening.report.render import html_to_pdf, render_patient_copy, render_summary
from screening.scoring import score

from . import CLINIC, GENERATED_AT, body_text, example_answers, nospace, page_texts, reader
from .conftest import INFO, SETTINGS

PASSWD_MARK = b"root:x:0:0"
MM = 72 / 25.4


# --- a listening socket -----------------------------------------------------------------------


@dataclass
class Listener:
    """A TCP server on 127.0.0.1 that records every connection made to it."""

    server: socket.socket
    connections: list[tuple[str, int]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server.getsockname()[1]

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                conn, address = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(address)
            conn.close()

    def finish(self) -> list[tuple[str, int]]:
        """Stop accepting; return the connections seen (including any still in the backlog)."""
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        self.server.setblocking(False)
        while True:
            try:
                conn, address = self.server.accept()
            except (BlockingIOError, OSError):
                break
            self.connections.append(address)
            conn.close()
        return self.connections


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)  # the accept timeout: how often the thread looks at `stop`
    result = Listener(server)
    result.thread = threading.Thread(target=result.run, daemon=True)
    result.thread.start()
    yield result
    result.finish()
    server.close()


def test_the_listener_sees_a_connection(listener):
    """The detector works: a real connection to it is recorded."""
    with socket.create_connection(("127.0.0.1", listener.port), timeout=2):
        pass
    assert len(listener.finish()) == 1


# --- what is inside a PDF ---------------------------------------------------------------------


def decoded_streams(pdf: bytes) -> Iterator[bytes]:
    """Every stream of the file, inflated when it is Flate-compressed."""
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        data = match.group(1)
        try:
            yield zlib.decompressobj().decompress(data)
        except zlib.error:
            yield data


def holds(pdf: bytes, needle: bytes) -> bool:
    return needle in pdf or any(needle in data for data in decoded_streams(pdf))


def test_the_stream_scan_finds_an_embedded_file():
    """The scan used below works: a file attached on purpose is found, compressed or not."""
    pdf = HTML(string="<p>x</p>").write_pdf(
        attachments=[Attachment(string="root:x:0:0:control", name="passwd.txt")]
    )
    assert holds(pdf, PASSWD_MARK)
    assert reader(pdf).attachments != {}


# --- markup in a name and in an answer --------------------------------------------------------


def hostile(port: int) -> list[str]:
    return [
        f'<img src="http://127.0.0.1:{port}/x">',
        '<link rel="attachment" href="file:///etc/passwd">',
        "<script>alert(1)</script>",
    ]


@pytest.mark.parametrize("kind", ["summary", "patient_copy"])
def test_markup_in_the_name_and_in_an_answer_is_printed_as_text_and_fetches_nothing(
    fbss, listener, kind
):
    parts = hostile(listener.port)
    name = "Ann " + " ".join(parts)
    goals = "Walk the dog " + " ".join(parts)
    assert fbss.questions["goals"].type == "text"
    assessment = score(fbss, example_answers(fbss, "high") | {"goals": goals})
    assert assessment.answers["goals"] == goals
    info = replace(INFO, name=name)
    renderer = render_summary if kind == "summary" else render_patient_copy
    rendered = renderer(assessment, info, SETTINGS, generated_at=GENERATED_AT)

    assert listener.finish() == [], "the renderer connected to the loopback listener"
    assert rendered.refused_urls == (), "the markup was read as markup, not printed as text"
    pdf = reader(rendered.content)
    assert pdf.attachments == {}
    assert "/EmbeddedFiles" not in pdf.trailer["/Root"].get("/Names", {})
    assert not holds(rendered.content, PASSWD_MARK)

    text = nospace(body_text(page_texts(rendered.content)))
    assert "root:x:0:0" not in text
    for part in parts:
        assert nospace(part) in text, part
    assert nospace(name) in text
    if kind == "summary":  # the patient's copy does not repeat the answers
        assert nospace(goals) in text
    assert pdf.metadata.title.endswith(name)


def test_markup_written_into_the_html_is_refused_by_the_fetcher(listener):
    """Even real tags (were escaping ever lost) make no connection and attach nothing."""
    html = (
        '<html lang="en"><head><title>t</title>'
        '<link rel="attachment" href="file:///etc/passwd">'
        f'<link rel="stylesheet" href="http://127.0.0.1:{listener.port}/style.css">'
        "</head><body><p>Hello</p>"
        f'<img src="http://127.0.0.1:{listener.port}/x">'
        f'<img src="https://127.0.0.1:{listener.port}/y">'
        f'<img src="ftp://127.0.0.1:{listener.port}/z">'
        '<a rel="attachment" href="file:///etc/passwd">passwd</a>'
        '<img src="report/../../report/render.py">'
        "</body></html>"
    )
    rendered = html_to_pdf(html, SETTINGS)
    assert listener.finish() == []
    assert set(rendered.refused_urls) >= {
        "file:///etc/passwd",
        f"http://127.0.0.1:{listener.port}/style.css",
        f"http://127.0.0.1:{listener.port}/x",
        f"https://127.0.0.1:{listener.port}/y",
        f"ftp://127.0.0.1:{listener.port}/z",
        (STATIC_DIR.parent / "report" / "render.py").as_uri(),
    }
    assert reader(rendered.content).attachments == {}
    assert not holds(rendered.content, PASSWD_MARK)


# --- the fetcher itself -----------------------------------------------------------------------

STATIC_URI = STATIC_DIR.as_uri()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/x",
        "https://127.0.0.1:{port}/x",
        "ftp://127.0.0.1:{port}/x",
        "https://example.org/report.css",
        "file:///etc/passwd",
        "file://localhost/etc/passwd",
        f"{STATIC_URI}/report/../../report/render.py",
        f"{STATIC_URI}/%2e%2e/report/fetcher.py",
        f"{STATIC_URI}/../../pyproject.toml",
        f"file://example.org{STATIC_DIR.as_posix()}/report/report.css",
        f"{STATIC_URI}/report/missing.css",
        f"{STATIC_URI}/report",
        "javascript:alert(1)",
        "gopher://127.0.0.1:{port}/x",
    ],
)
def test_fetcher_refuses_everything_but_the_static_folder(listener, url):
    url = url.format(port=listener.port)
    fetcher = PackageAssetFetcher()
    with pytest.raises(RefusedURL):
        fetcher.fetch(url)
    assert fetcher.refused == [url]
    assert listener.finish() == []


@pytest.mark.parametrize(
    "url",
    [
        f"{STATIC_URI}/report/report.css",
        f"file://localhost{STATIC_DIR.as_posix()}/report/report.css",
        f"{STATIC_URI}/css/../report/report.css",
    ],
)
def test_fetcher_serves_a_file_inside_the_static_folder(url):
    fetcher = PackageAssetFetcher()
    response = fetcher.fetch(url)
    assert response.read() == (STATIC_DIR / "report" / "report.css").read_bytes()
    assert response.content_type == "text/css"
    assert fetcher.refused == []


def test_fetcher_serves_data_urls():
    response = PackageAssetFetcher().fetch("data:text/plain;base64,aGVsbG8=")
    assert response.read() == b"hello"


def test_fetcher_refuses_a_symlink_out_of_its_folder(tmp_path):
    root = tmp_path / "static"
    root.mkdir()
    (root / "ok.css").write_text("p { color: red }")
    (root / "passwd.css").symlink_to("/etc/passwd")
    fetcher = PackageAssetFetcher(root)
    assert fetcher.fetch((root / "ok.css").as_uri()).read() == b"p { color: red }"
    with pytest.raises(RefusedURL):
        fetcher.fetch((root / "passwd.css").as_uri())


# --- long text wraps inside the page ----------------------------------------------------------

LONG = """
id: long
version: "1.0.0"
title: Long answers
description: Free text as long as the language allows.
steps:
  - id: words
    title: In your own words
    questions:
      - id: word
        type: text
        label: One very long word
        required: false
      - id: story
        type: text
        label: A long story
        required: false
tiers:
  - {id: low, label: Low}
"""


def word_boxes(pdf_path: Path) -> list[tuple[float, float, list[tuple[float, float, str]]]]:
    """(page width, page height, [(xMin, xMax, word)]) per page, from pdftotext -bbox."""
    out = subprocess.run(
        ["pdftotext", "-bbox", str(pdf_path), "-"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout
    ns = {"x": "http://www.w3.org/1999/xhtml"}
    root = ElementTree.fromstring(out)
    pages = []
    for page in root.iter(f"{{{ns['x']}}}page"):
        boxes = [
            (float(w.get("xMin")), float(w.get("xMax")), w.text or "")
            for w in page.iter(f"{{{ns['x']}}}word")
        ]
        pages.append((float(page.get("width")), float(page.get("height")), boxes))
    return pages


def test_long_unbroken_text_and_long_paragraphs_wrap_inside_the_page(tmp_path):
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is needed: apt-get install poppler-utils")
    q = load_text(LONG, "long.yaml")
    word = "".join(f"q{i:03d}" for i in range(500))  # 2000 characters, no space, in order
    story = " ".join(f"sentence{i} about walking the dog again" for i in range(60))[:2000]
    name = "Verylongname" * 15  # 180 characters without a space, in a narrow table cell
    assessment = score(q, {"word": word, "story": story})
    assert assessment.answers == {"word": word, "story": story}
    rendered = render_summary(assessment, replace(INFO, name=name), SETTINGS, GENERATED_AT)
    path = tmp_path / "long.pdf"
    path.write_bytes(rendered.content)

    pages = page_texts(rendered.content)
    tokens = " ".join(pages).split()
    # The word is cut into lines, over two pages, and loses nothing on the way.
    pieces = [t for t in tokens if "q" in t and re.fullmatch(r"[q\d]+", t)]
    assert len(pieces) > 10, "the long word was not broken into lines"
    assert "".join(pieces) == word, "the long word lost characters or their order"
    text = nospace(body_text(pages))
    assert nospace(story) in text
    assert name in text

    boxes = word_boxes(path)
    assert len(boxes) == len(pages)
    right_margin = 14 * MM  # report.css: @page { margin: 14mm 14mm 16mm 14mm }
    for width, height, words_on_page in boxes:
        assert (width, height) == (612, 792)
        for x_min, x_max, text_word in words_on_page:
            assert x_min >= right_margin - 1, f"{text_word!r} runs into the left margin"
            assert x_max <= width, f"{text_word!r} runs off the page (x={x_max:.1f} > {width})"
            assert x_max <= width - right_margin + 1, f"{text_word!r} runs into the margin"
    assert CLINIC in pages[0]
