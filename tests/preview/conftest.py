"""The preview of a draft (screening preview): a copy of a fixture questionnaire in a temporary
folder, so a test may break and fix it on disk, and the preview app over it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
AXES = FIXTURES / "axes.yaml"
MINI = FIXTURES / "mini.yaml"
BILINGUAL = FIXTURES / "bilingual.yaml"


@pytest.fixture
def draft(tmp_path: Path) -> Path:
    """A draft to edit: the two-axes fixture."""
    path = tmp_path / "draft.yaml"
    shutil.copy(AXES, path)
    return path


@pytest.fixture
def preview_config() -> dict:
    return {"WTF_CSRF_ENABLED": False, "TESTING": True}


@pytest.fixture
def preview_app(draft: Path, preview_config: dict):
    from screening.preview import create_preview_app

    return create_preview_app(draft, config=preview_config)


@pytest.fixture
def client(preview_app):
    return preview_app.test_client()


def break_file(path: Path) -> int:
    """Make the draft name a question it does not have; return the line of the problem."""
    text = path.read_text(encoding="utf-8")
    broken = text.replace("{question: smoker, equals: true}", "{question: smokes, equals: true}")
    assert broken != text
    path.write_text(broken, encoding="utf-8")
    return next(i for i, line in enumerate(broken.splitlines(), 1) if "question: smokes" in line)


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)
