"""Where the shipped data lives: beside the package in a checkout, inside it when installed."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """`templates` or `questionnaires`: inside the package in a wheel, at the top of a checkout."""
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else PACKAGE_DIR.parent / name


TEMPLATES_DIR = data_dir("templates")
QUESTIONNAIRES_DIR = data_dir("questionnaires")
STATIC_DIR = PACKAGE_DIR / "static"
DEFAULT_QUESTIONNAIRE = QUESTIONNAIRES_DIR / "fbss-preop.yaml"
