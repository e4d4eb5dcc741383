"""Extension singletons, bound to the app in create_app()."""

import time

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
csrf = CSRFProtect()
migrate = Migrate()
# Storage from RATELIMIT_STORAGE_URI (memory:// by default; redis://... to share between instances).
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def retry_after() -> dict[str, str]:
    """A 429's Retry-After header: the seconds until the limit this request broke lets it in
    again (none when no limit was broken, e.g. a 429 raised by hand)."""
    broken = limiter.current_limit
    if broken is None or not broken.breached:
        return {}
    return {"Retry-After": str(max(1, int(broken.reset_at - time.time())))}
