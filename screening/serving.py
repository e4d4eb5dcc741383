"""Production serving with gunicorn: settings for this machine, an access log without tokens."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from .logs import RedactTokens, redact
from .settings import check_workers

# Method, path (tokens redacted, never the query string), status, bytes, milliseconds, request id.
ACCESS_FORMAT = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'


class RedactingLogger(Logger):
    """Gunicorn's logger with patients' link tokens and every query string kept out of the log."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # "Error handling request GET /s/<token>/..." goes through the error log.
        for logger in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactTokens) for f in logger.filters):
                logger.addFilter(RedactTokens())

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = redact(atoms.get("U") or "")
        atoms["r"] = f"{environ['REQUEST_METHOD']} {atoms['U']} {environ['SERVER_PROTOCOL']}"
        atoms["q"] = "-"
        atoms["f"] = redact(atoms.get("f") or "-").split("?")[0]
        for key in list(atoms):
            if key.startswith("{") and key.endswith("}e"):
                del atoms[key]  # environment variables: never in an access log
        return atoms


def options(
    config: Any, bind: str | None = None, workers: int | None = None, threads: int | None = None
) -> dict[str, Any]:
    """Gunicorn's settings from the app's (SCREENING_BIND, _WORKERS, ...), the command's options
    first. CPU-bound pages want about one worker per core; threads cover the database's waits.
    ConfigError when the sign-in limits could not be shared between the workers."""
    workers = workers or config["SCREENING_WORKERS"]
    check_workers(config, workers)
    return {
        "bind": bind or config["SCREENING_BIND"],
        "workers": workers,
        "threads": threads or config["SCREENING_THREADS"],
        "worker_class": "gthread",
        "timeout": 30,
        "graceful_timeout": 20,
        "keepalive": 5,
        # A worker is replaced after this many requests (0: never), against slow leaks.
        "max_requests": config["SCREENING_MAX_REQUESTS"],
        "max_requests_jitter": 200,
        "accesslog": config["SCREENING_ACCESS_LOG"],
        "errorlog": "-",
        "access_log_format": ACCESS_FORMAT,
        "logger_class": RedactingLogger,
        "forwarded_allow_ips": config["SCREENING_FORWARDED_ALLOW_IPS"],
        # No control socket: it would be one path shared by every instance on the host.
        "control_socket_disable": True,
    }


class Server(BaseApplication):
    def __init__(self, app_factory: Any, settings: dict[str, Any]):
        self.app_factory = app_factory
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.settings.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.app_factory()
