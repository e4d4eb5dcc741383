"""The throughput ceiling of a step page: the real app plus one route rendering the same markup.

`create_app()` is `screening.create_app()` with `/__ceiling` added, which renders the HTML saved in
the file named by SCREENING_CEILING_HTML (a step page captured from the running app) as a static
template (`render_template`, so the app's context processors run as for a real page): no database
and nothing to fill in, but the same app, hooks, headers and logging. `/__ceiling/string` returns
the markup as a string, for reference. Served with the same
gunicorn setup as `screening serve` (screening.serving.Server and options()):

    SCREENING_CEILING_HTML=/tmp/mood.html DATABASE_URL=... SCREENING_SECRET_KEY=... \
        python -m tests.bench.ceiling_app --bind 127.0.0.1:8001 --workers 3 --threads 4
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

CEILING_ENV = "SCREENING_CEILING_HTML"
FALLBACK = "<!doctype html><title>ceiling</title><p>no page captured</p>"


TEMPLATE = "__ceiling.html"


def create_app():
    from flask import render_template
    from jinja2 import ChoiceLoader, DictLoader

    from screening import create_app as real_app

    app = real_app()
    path = os.environ.get(CEILING_ENV, "").strip()
    html = Path(path).read_text(encoding="utf-8") if path else FALLBACK
    assert "{% endraw %}" not in html
    static = DictLoader({TEMPLATE: "{% raw %}" + html + "{% endraw %}"})  # markup, never code
    app.jinja_env.loader = ChoiceLoader([static, app.jinja_env.loader])

    @app.route("/__ceiling")
    def ceiling():
        return render_template(TEMPLATE)

    @app.route("/__ceiling/string")
    def ceiling_string():  # for reference: the same markup with no template rendered at all
        return html

    return app


def main(argv: list[str] | None = None) -> None:
    from screening.serving import Server, options

    parser = argparse.ArgumentParser(prog="python -m tests.bench.ceiling_app")
    parser.add_argument("--bind")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args(argv)
    create_app()  # fail here, before forking, on a bad configuration (as `screening serve`)
    Server(create_app, options(create_app().config, args.bind, args.workers, args.threads)).run()


if __name__ == "__main__":
    main()
