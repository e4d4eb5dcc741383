"""Patients' links. A link is a random token; only its SHA-256 is stored, so a link can be shown
once and never again: every e-mail, reminder, handout or hand-over makes a new one, and the one
before stops working.

A re-issued link asks who is there. The saved answers are shown, and saves accepted, only through
the screening's trusted link: the one the answers were last saved through, or one whose holder
confirmed the patient's date of birth (or, with none on file, the return code the patient was
shown when they first saved). Wrong tries are limited per link and audited, never with what was
typed; a new link (which staff issue) starts the count again.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import (
    OPEN_STATUSES,
    AuditEvent,
    ReplacedLink,
    Screening,
    User,
    hash_token,
    utcnow,
)
from ..text import UNAMBIGUOUS
from . import NotAllowed, audit

TOKEN_BYTES = 24  # 192 bits from the OS's CSPRNG
MAX_TOKEN_LENGTH = 200  # a longer "token" in a URL is not one of ours: not even hashed
MAX_IDENTITY_TRIES = 5  # wrong tries at the identity check before a link is locked
# The return code: 6 characters without look-alikes (no 0/O, 1/I/L), about 30 bits; guessed
# online 5 tries a link at most.
CODE_ALPHABET = UNAMBIGUOUS.upper()
CODE_LENGTH = 6
# The short code printed on a handout beside its QR code, typed at the short address (/c):
# 10 characters of the same 31, grouped 4-4-2 like K7QM-2XHD-9R: 31**10 = 8.2e14 codes
# (49.5 bits). Wrong codes are limited per address (SCREENING_CODE_LIMIT_ADDRESS) and from all
# addresses together (SCREENING_CODE_LIMIT_ALL, 300 an hour): guessing at that ceiling for a
# whole year is 300 * 24 * 365 = 2.6e6 tries; with 10,000 handouts alive at once each try finds
# one with a chance of 1e4 / 8.2e14 = 1.2e-11, so the year's chance of finding any is 3e-5.
SHORT_CODE_LENGTH = 10


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def find(token: str) -> Screening | None:
    """The screening a link's token opens, whatever its status (the caller decides)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return db.session.scalar(sa.select(Screening).where(Screening.token_hash == hash_token(token)))


def replaced(token: str) -> Screening | None:
    """The screening whose link `token` was, when a newer link replaced it; else None."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return db.session.scalar(
        sa.select(Screening)
        .join(ReplacedLink, ReplacedLink.screening_id == Screening.id)
        .where(ReplacedLink.token_hash == hash_token(token))
    )


def closed_message(screening: Screening) -> str:
    return f"This screening is {screening.status.replace('_', ' ')}."


def new_link(
    screening: Screening,
    now: dt.datetime | None = None,
    by: User | None = None,
    *,
    reset: bool = True,
    token: str | None = None,
) -> str:
    """Replace the screening's link with a new one (issued `by` a member of staff, or None) and
    return its token (`token`, or a random one); an expired link starts a fresh period. The
    link replaced is remembered by its hash (so its holder is told it was replaced). The new
    link does not show the saved answers until its holder confirms who they are; with `reset`,
    its wrong tries start from none (audited when some were made). NotAllowed once the
    screening is closed."""
    if screening.status not in OPEN_STATUSES:
        raise NotAllowed(closed_message(screening))
    now = now or utcnow()
    token = token or new_token()
    db.session.add(
        ReplacedLink(token_hash=screening.token_hash, screening_id=screening.id, replaced_at=now)
    )
    screening.token_hash = hash_token(token)
    screening.link_number = (screening.link_number or 1) + 1
    screening.link_issued_by_id = getattr(by, "id", None)
    if screening.expires_at <= now:
        screening.expires_at = now + dt.timedelta(days=current_app.config["SCREENING_LINK_DAYS"])
    if reset:
        reset_identity_check(screening, by)
    db.session.flush()
    return token


def absolute(path: str) -> str:
    """A link to `path` (from the site's root) made from SCREENING_BASE_URL, never from the
    request's Host header, which whoever sends the request chooses."""
    return current_app.config["SCREENING_BASE_URL"].rstrip("/") + path


def link_state(screening: Screening) -> tuple:
    """What new_link changes, to put back when the new link could not be given (an e-mail that
    failed: the link the patient has keeps working, with its wrong tries)."""
    return (screening.token_hash, screening.expires_at, screening.link_number,
            screening.link_issued_by_id)  # fmt: skip


def restore_link(screening: Screening, state: tuple) -> None:
    db.session.execute(sa.delete(ReplacedLink).where(ReplacedLink.token_hash == state[0]))
    (screening.token_hash, screening.expires_at, screening.link_number,
     screening.link_issued_by_id) = state  # fmt: skip
    db.session.flush()


def reset_identity_check(screening: Screening, by: User | None = None) -> None:
    """The current link's wrong tries start again from none (audited when there were some)."""
    if screening.identity_failures:
        audit.record(
            "identity_check_reset", user=by, screening_id=screening.id,
            detail=f"link {screening.link_number}, after {screening.identity_failures} wrong tries",
        )  # fmt: skip
        screening.identity_failures = 0


# --- the identity check of a re-issued link ---------------------------------------------------


def check_needed(screening: Screening) -> bool:
    """This link may not show or change the saved answers until its holder confirms who they
    are: there are saved answers, and they were saved through another link."""
    return screening.started_at is not None and screening.trusted_link != screening.link_number


def check_kind(screening: Screening) -> str:
    """What the check asks: "dob" (the date of birth on file), "code" (the return code), or
    "none" when neither is known (only the clinic can help)."""
    if screening.patient_dob is not None:
        return "dob"
    return "code" if screening.return_code_hash else "none"


def locked(screening: Screening) -> bool:
    return screening.identity_failures >= MAX_IDENTITY_TRIES


def confirm_identity(
    screening: Screening, dob: dt.date | None = None, code: str | None = None
) -> str:
    """One try at the check of the screening's current link: "confirmed" (the link is trusted
    from now on), "wrong", or "locked" (no try left, this one included). Audited each time, with
    the link's number, never with what was typed. The try is taken in the database first, so
    tries made at the same moment cannot go past the limit; a right answer gives it back."""
    kind = check_kind(screening)
    db.session.flush()
    table = Screening.__table__
    taken = db.session.execute(
        table.update()
        .where(table.c.id == screening.id, table.c.link_number == screening.link_number,
               table.c.identity_failures < MAX_IDENTITY_TRIES)
        .values(identity_failures=table.c.identity_failures + 1)
    )  # fmt: skip
    db.session.expire(screening, ["identity_failures"])
    if taken.rowcount != 1:
        return "locked"
    if kind == "dob":
        right = dob is not None and dob == screening.patient_dob
    else:
        right = (
            kind == "code"
            and code is not None
            and hmac.compare_digest(return_code_hash(screening, code), screening.return_code_hash)
        )
    link = f"link {screening.link_number}"
    if right:
        db.session.execute(
            table.update()
            .where(table.c.id == screening.id)
            .values(
                identity_failures=table.c.identity_failures - 1, trusted_link=screening.link_number
            )
        )
        db.session.expire(screening, ["identity_failures", "trusted_link"])
        issued = screening.link_issued_by_id
        detail = f"{link}, issued by user {issued}" if issued else link
        audit.record("identity_confirmed", screening_id=screening.id, detail=f"{detail} ({kind})")
        return "confirmed"
    tries = screening.identity_failures
    audit.record("identity_check_failed", screening_id=screening.id,
                 detail=f"{link} ({kind}), wrong try {tries} of {MAX_IDENTITY_TRIES}")  # fmt: skip
    return "locked" if tries >= MAX_IDENTITY_TRIES else "wrong"


def failed_checks(screening: Screening) -> int:
    """Wrong tries at the identity check on every link of the screening (from the audit log)."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.screening_id == screening.id, AuditEvent.action == "identity_check_failed"
        )
    )  # fmt: skip


# --- the return code ------------------------------------------------------------------------


def normal_code(text: str) -> str | None:
    """A return code as typed (any case, spaces and dashes) in its stored form, or None when it
    cannot be one."""
    code = "".join(ch for ch in text.upper() if ch not in " -")
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        return None
    return code


def return_code_hash(screening: Screening, code: str) -> str:
    """HMAC-SHA256 keyed with the app's SECRET_KEY: a code this short would be found from a plain
    hash in seconds by anyone with a copy of the database; without the key (never stored in the
    database) it cannot be tried offline. A new SECRET_KEY makes old codes fail (the clinic
    then helps the patient)."""
    key = current_app.config["SECRET_KEY"]
    key = key.encode("utf-8") if isinstance(key, str) else key
    message = f"return-code:{screening.id}:{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def give_return_code(screening: Screening) -> str | None:
    """The patient's return code, made when they first save and no date of birth is on file
    (only its HMAC is kept); None when one exists already or is not needed. Shown once."""
    if screening.patient_dob is not None or screening.return_code_hash:
        return None
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    screening.return_code_hash = return_code_hash(screening, code)
    db.session.flush()
    return f"{code[:3]}-{code[3:]}"


def patient_url(token: str) -> str:
    """The patient's link, absolute (in e-mails, on handouts and their QR code, on the command
    line)."""
    return absolute(f"/s/{token}")


# --- handouts: a link and its short code ----------------------------------------------------


def _keyed(purpose: str, message: str) -> bytes:
    """HMAC-SHA256 keyed with the app's SECRET_KEY (never stored in the database)."""
    key = current_app.config["SECRET_KEY"]
    key = key.encode("utf-8") if isinstance(key, str) else key
    return hmac.new(key, f"{purpose}:{message}".encode(), hashlib.sha256).digest()


def new_handout_seed() -> str:
    """The random seed of a handout's short code (128 bits). Kept only in the printing staff
    member's session, so that their handout page shows the same link again; useless without the
    SECRET_KEY, and the database keeps neither it nor the code."""
    return secrets.token_urlsafe(16)


def short_code(seed: str) -> str:
    """A handout's short code (stored form: 10 characters, no dashes) from its seed."""
    number = int.from_bytes(_keyed("handout-code", seed), "big")
    chars = []
    for _ in range(SHORT_CODE_LENGTH):
        number, index = divmod(number, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[index])
    return "".join(chars)


def grouped(code: str) -> str:
    """A short code as printed: K7QM-2XHD-9R."""
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"


def handout_token(code: str) -> str:
    """The link of a handout, made from its short code: typing the code opens the same link as
    the QR code (whose hash is the screening's token_hash, as for any link), and the code stops
    working when its link is replaced, expires or is revoked. Without the SECRET_KEY neither the
    code nor the link follows from the database."""
    return base64.urlsafe_b64encode(_keyed("handout-link", code)).decode().rstrip("=")


def normal_short_code(text: str) -> str | None:
    """A short code as typed (any case, with or without dashes and spaces) in its stored form,
    or None when it cannot be one."""
    code = "".join(ch for ch in text.upper() if ch not in " -")
    if len(code) != SHORT_CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        return None
    return code
