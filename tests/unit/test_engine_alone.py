"""The questionnaire language and the engine import without the web stack."""

from __future__ import annotations

import subprocess
import sys

WEB = ("flask", "sqlalchemy", "flask_sqlalchemy", "werkzeug", "flask_babel", "weasyprint")


def test_the_language_and_the_engine_import_without_flask_or_sqlalchemy():
    code = (
        "import sys\n"
        "import screening.definition, screening.definition.lint, screening.scoring\n"
        "import screening.rescoring\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({WEB!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout


def test_the_app_factory_is_still_found_at_the_package_root():
    import screening
    from screening.app import create_app

    assert screening.create_app is create_app
