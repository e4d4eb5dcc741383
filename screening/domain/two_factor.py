"""The second factor: a time-based one-time code (TOTP, RFC 6238, what authenticator apps show),
enrolled with a QR code, and ten single-use recovery codes of which only hashes are kept.

Required for clinicians and admins when SCREENING_REQUIRE_SECOND_FACTOR is on (the default in
production). A code is accepted once: the time step it belongs to is remembered, and an older or
the same step is refused (a code seen over someone's shoulder cannot be replayed).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
from flask import current_app

from ..extensions import db
from ..models import User
from ..text import UNAMBIGUOUS
from . import NotAllowed, audit

ROLES_THAT_NEED_IT = ("clinician", "admin")
RECOVERY_CODES = 10
_STEP = 30  # seconds, as every authenticator app uses


def required(user: User) -> bool:
    return bool(current_app.config["SCREENING_REQUIRE_SECOND_FACTOR"]) and user.has_role(
        *ROLES_THAT_NEED_IT
    )


def enrolled(user: User) -> bool:
    return user.totp_secret is not None


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    """What the QR code holds: otpauth://totp/<clinic>:<e-mail>?secret=...&issuer=<clinic>."""
    issuer = current_app.config["SCREENING_CLINIC_NAME"]
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def _step_of(secret: str, code: str, after: int | None) -> int | None:
    """The time step (now, or one either side for a clock a little off) whose code this is,
    if it is later than `after`."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = int(time.time()) // _STEP
    for step in (now - 1, now, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), code) and (after is None or step > after):
            return step
    return None


def _normalized(code: str) -> str:
    return "".join(c for c in code.lower() if c.isalnum())


def _hashed(code: str) -> str:
    # Ten random characters of 31 (about 50 bits): a plain hash is enough; no slow hash needed.
    return hashlib.sha256(_normalized(code).encode()).hexdigest()


def _new_recovery_codes() -> list[str]:
    codes = ["".join(secrets.choice(UNAMBIGUOUS) for _ in range(10)) for _ in range(RECOVERY_CODES)]
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def enrol(user: User, secret: str, code: str) -> list[str]:
    """Turn the second factor on with the secret the user's app now holds, proved by one of its
    codes. Returns the recovery codes, to be shown once."""
    step = _step_of(secret, code, None)
    if step is None:
        raise NotAllowed(
            "That code is not right. Check that your app shows this account, and enter the "
            "6-digit code it shows now."
        )
    codes = _new_recovery_codes()
    user.totp_secret, user.totp_last_step = secret, step
    user.recovery_codes = [_hashed(c) for c in codes]
    audit.record("second_factor_enrolled", user=user)
    db.session.flush()
    return codes


def sign_in(user: User, code: str) -> bool:
    """The second step of signing in: whether `code` is the user's current one-time code or one
    of their unused recovery codes (then spent). Audited either way (the sign-in itself is
    recorded here, not at the password)."""
    # The account's row is locked while the code is judged: two requests with one code at the
    # same moment (a replay racing the real sign-in) cannot both pass (PostgreSQL).
    db.session.refresh(user, with_for_update=True)
    if user.totp_secret is None:
        return False
    step = _step_of(user.totp_secret, code, user.totp_last_step)
    hashed = _hashed(code)
    passed = True
    if step is not None:
        user.totp_last_step = step
        audit.record("login", user=user, detail="with a one-time code")
    elif len(_normalized(code)) == 10 and hashed in (user.recovery_codes or []):
        user.recovery_codes = [h for h in user.recovery_codes if h != hashed]
        left = len(user.recovery_codes)
        audit.record("login", user=user, detail=f"with a recovery code ({left} left)")
    else:
        audit.record("login_failed", user=user, detail="second factor")
        passed = False
    db.session.flush()
    return passed


def new_recovery_codes(user: User) -> list[str]:
    """A new set of recovery codes; the old ones stop working."""
    codes = _new_recovery_codes()
    user.recovery_codes = [_hashed(c) for c in codes]
    audit.record("recovery_codes_renewed", user=user)
    db.session.flush()
    return codes


def reset(user: User, actor: User | None, how: str = "") -> None:
    """An administrator turns another user's second factor off (a lost phone): their sessions
    end, and they enrol again at their next sign-in."""
    user.totp_secret, user.totp_last_step, user.recovery_codes = None, None, []
    user.session_version += 1
    audit.record("second_factor_reset", user=actor, detail=f"user {user.id}{how}")
    db.session.flush()
