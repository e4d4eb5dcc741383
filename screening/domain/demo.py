"""Demo data for `make run`: staff accounts, one finished screening per example of the
questionnaire (and of the version before it, so that re-scoring has something to compare), and
open screenings to try the patient's side with."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from ..definition import Questionnaire, load_text, read_path
from ..extensions import db
from ..models import OPEN_STATUSES, Definition, Screening, utcnow
from ..paths import QUESTIONNAIRES_DIR
from . import accounts, answering, links, passwords, questionnaires, submission
from .invitations import create_screening

USERS = (
    ("intake@example.org", "Ida Intake", ["intake"]),
    ("clinician@example.org", "Cleo Clinician", ["clinician"]),
    ("admin@example.org", "Ada Admin", ["admin"]),
)


@dataclass(frozen=True)
class Demo:
    password: str  # every demo account's, new on every run
    links: list[tuple[Screening, str]]  # open screenings and a fresh link to each


def _accounts(password: str) -> None:
    for email, name, roles in USERS:
        user = accounts.find_user(email)
        if user is None:
            accounts.create_user(email, password, roles, name, all_sites="admin" in roles)
        else:  # a demo account: its password is renewed on every run
            user.password_hash, user.active = passwords.hash_password(password), True
            user.session_version += 1


# The version in force before the shipped one, kept unchanged beside it.
PREVIOUS = QUESTIONNAIRES_DIR / "previous" / "fbss-preop-1.2.0.yaml"


def submittable(q: Questionnaire) -> list:
    """The examples a patient alone can give and submit: complete, without the clinic's entries."""
    return [e for e in q.examples if e.expect.get("complete") is not False and not e.clinic]


def _store_previous(current: Questionnaire) -> Definition | None:
    """The Definition row of the previous version of the questionnaire in force (added if new),
    or None when there is none for it."""
    if not PREVIOUS.is_file():
        return None
    text = read_path(PREVIOUS)
    previous = load_text(text, str(PREVIOUS))
    if previous.id != current.id or previous.version == current.version:
        return None
    row = db.session.get(Definition, previous.content_hash)
    if row is None:
        row = Definition(content_hash=previous.content_hash, questionnaire_id=previous.id,
                         version=previous.version, text=text)  # fmt: skip
        db.session.add(row)
        db.session.flush()
    return row


def _examples(days: int) -> None:
    """One submitted screening per example of the questionnaire, and of its previous version
    (their own definition: re-scoring compares them with the one in force) (once)."""
    already = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Screening)
        .where(Screening.patient_mrn.like("DEMO-%"))
    )
    if already:
        return
    definition = questionnaires.store_in_force()
    previous = _store_previous(questionnaires.of(definition))
    made = [(definition, "Example Patient", "DEMO")]
    if previous is not None:
        made.append((previous, "Earlier Example Patient", f"DEMO-V{previous.version}"))
    for stored, name, mrn in made:
        q = questionnaires.of(stored)
        for index, example in enumerate(submittable(q), start=1):
            screening, _ = create_screening(
                stored, patient_name=f"{name} {index}", link_days=days,
                patient_dob=dt.date(1950 + index, index % 12 + 1, 10),
                patient_mrn=f"{mrn}-{index:04d}", surgeon="Dr. Example",
                planned_surgery=example.name[:200],
            )  # fmt: skip
            answering.save_all(screening, q, example.answers)
            submission.submit(screening, q)


def _open(mrn: str, name: str, language: str, days: int) -> tuple[Screening, str]:
    """A demo patient's open screening and a fresh link to it (only a hash of a link is kept,
    so each run gives a new one)."""
    demo = db.session.scalar(
        sa.select(Screening).where(
            Screening.patient_mrn == mrn, Screening.status.in_(OPEN_STATUSES)
        )
    )
    if demo is None:
        return create_screening(
            questionnaires.store_in_force(), patient_name=name, patient_dob=dt.date(1968, 5, 14),
            patient_mrn=mrn, surgeon="Dr. Example", link_days=days, language=language,
        )  # fmt: skip
    demo.expires_at = max(demo.expires_at, utcnow())
    return demo, links.new_link(demo)


def make(days: int) -> Demo:
    password = "demo-" + secrets.token_urlsafe(9)
    _accounts(password)
    _examples(days)
    q = questionnaires.in_force()
    made = [_open("DEMO-0000", "Demo Patient", q.language, days)]
    if "es" in questionnaires.patient_languages(q):
        made.append(_open("DEMO-0000-ES", "Paciente de Demostración", "es", days))
    return Demo(password, made)
