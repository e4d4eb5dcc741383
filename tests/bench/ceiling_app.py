"""The throughput ceiling of a step page: the real app plus one route returning the same markup.

`create_app()` is `screening.create_app()` with `/__ceiling` added, which returns the HTML saved in
the file named by SCREENING_CEILING_HTML (a step page captured from the running app) as a static
string: no database, no template, but the same app, hooks, headers and logging. Served with the same
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


def create_app():
    from screening import create_app as real_app

    app = real_app()
    path = os.environ.get(CEILING_ENV, "").strip()
    html = Path(path).read_text(encoding="utf-8") if path else FALLBACK

    @app.route("/__ceiling")
    def ceiling():
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
    Server(create_app, options(args.bind, args.workers, args.threads)).run()


if __name__ == "__main__":
    main()
