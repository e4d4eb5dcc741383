"""Pre-surgery screening for the risk factors of failed back surgery syndrome.

The package root stays light: `import screening.definition` or `import screening.scoring` loads
neither Flask nor SQLAlchemy. The application is built by `screening.app.create_app`;
`screening:create_app` (for gunicorn and `flask --app screening`) finds it lazily.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module 'screening' has no attribute {name!r}")
