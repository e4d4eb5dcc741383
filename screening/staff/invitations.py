"""Invitations (intake staff): a new screening, its link e-mailed, printed or handed over on this
device, extended or revoked."""

from __future__ import annotations

from collections.abc import Callable

import segno
from flask import (
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import force_locale
from markupsafe import Markup

from .. import i18n
from ..domain import NotAllowed, invitations, links, questionnaires, sites
from ..extensions import db, limiter
from ..models import Screening, Site, utcnow
from ..web import KIOSK_KEY
from . import auth
from .blueprint import attempt, back_to, bp, check_form, screening_or_404
from .forms import EmptyForm, ExtendForm, InvitationForm, with_clinic_fields


@bp.route("/invitations/new", methods=["GET", "POST"])
@auth.roles_required("intake")
def new_invitation():
    form_class = with_clinic_fields(InvitationForm, questionnaires.in_force())
    form = form_class(sites=sites.choices(auth.actor()))
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("staff/invitation_new.html", form=form), status
    screening, token = invitations.invite(
        auth.actor(),
        clinic_answers=form.clinic_answers,
        site=db.session.get(Site, form.site.data) if "site" in form else None,
        link_days=form.link_days.data,
        patient_name=form.patient_name.data,
        patient_dob=form.patient_dob.data,
        patient_mrn=form.patient_mrn.data or None,
        patient_email=form.patient_email.data or None,
        patient_phone=form.patient_phone.data or None,
        surgeon=form.surgeon.data or None,
        planned_surgery=form.planned_surgery.data or None,
        surgery_date=form.surgery_date.data,
        language=form.language.data,
    )
    db.session.commit()  # the screening is kept whatever happens to the e-mail
    if form.send_email.data:
        _send(screening, token)
    else:
        flash(f"Invitation {screening.reference} created. Print a handout or send it by e-mail.")
    return back_to(screening.id)


def _send(screening: Screening, token: str | None) -> None:
    """E-mail `token`'s link, or a new link (the old one kept if the e-mail fails)."""
    error = invitations.send(screening, auth.actor(), token)
    db.session.commit()
    if error is None:
        # No address in the message: flashes travel in the session cookie (signed, not encrypted).
        flash("The link was e-mailed to the patient's address.")
    else:
        flash(
            f"The e-mail could not be sent: {error}. The invitation is saved; "
            "you can try again or print a handout.",
            "error",
        )


@bp.route("/screenings/<id:screening_id>/send", methods=["POST"])
@auth.roles_required("intake")
def send(screening_id: int):
    screening = screening_or_404(screening_id)
    check_form()
    attempt(lambda: _send(screening, None))
    return back_to(screening_id)


@bp.route("/screenings/<id:screening_id>/extend", methods=["POST"])
@auth.roles_required("intake")
def extend(screening_id: int):
    screening = screening_or_404(screening_id)
    form = ExtendForm()
    if not form.validate_on_submit():
        flash("Enter a number of days between 1 and 90.", "error")
        return back_to(screening_id)
    if attempt(lambda: invitations.extend(screening, form.days.data, auth.actor())):
        flash(f"The link now works until {screening.expires_at:%d %B %Y}.")
    return back_to(screening_id)


@bp.route("/screenings/<id:screening_id>/revoke", methods=["POST"])
@auth.roles_required("intake")
def revoke(screening_id: int):
    screening = screening_or_404(screening_id)
    check_form()
    if attempt(lambda: invitations.revoke(screening, auth.actor())):
        flash("The link is revoked and no longer works.")
    return back_to(screening_id)


HANDOUTS_KEY = "handouts"  # {screening id: the seed of the handout this browser printed last}


def _print_handout(screening_id: int):
    screening = screening_or_404(screening_id)
    check_form()
    seed = _new_link(lambda: invitations.print_handout(screening, auth.actor()))
    if seed is None:
        return back_to(screening_id)
    # Only the seed, in this browser's session: the link follows from it and the SECRET_KEY.
    kept = {k: v for k, v in session.get(HANDOUTS_KEY, {}).items() if k != str(screening.id)}
    session[HANDOUTS_KEY] = dict(list(kept.items())[-4:]) | {str(screening.id): seed}
    return redirect(url_for("staff.handout", screening_id=screening_id), code=303)


def _new_link(make: Callable[[], str]) -> str | None:
    """A new link (or a handout's seed) from `make`, committed; None with the domain's reason
    flashed when the screening is closed."""
    try:
        made = make()
    except NotAllowed as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return None
    db.session.commit()
    return made


@bp.route("/screenings/<id:screening_id>/handout", methods=["GET", "POST"])
@auth.roles_required("intake")
def handout(screening_id: int):
    """POST ("Print a handout"): a new link and short code (the earlier link stops working),
    then a redirect here. GET: the printable handout, its link, QR code and short code, as
    printed from this browser, while they still work (reloading shows the same link); else a
    way to print a new one."""
    if request.method == "POST":
        return _print_handout(screening_id)
    screening = screening_or_404(screening_id)
    seed = session.get(HANDOUTS_KEY, {}).get(str(screening.id))
    shown = invitations.handout(screening, seed, auth.actor())
    db.session.commit()
    if shown is None:
        return render_template(
            "staff/handout_gone.html", screening=screening, form=EmptyForm(), printed=bool(seed)
        )
    token, code = shown
    link = links.patient_url(token)
    qr = Markup(
        segno.make(link, error="m").svg_inline(
            scale=5, dark="#000", light="#fff", title="QR code of the link"
        )
    )
    language = questionnaires.patient_language(screening)
    with force_locale(language):  # the handout's words are the patient's; the page is English
        return render_template(
            "staff/handout.html",
            screening=screening,
            link=link,
            qr=qr,
            code=links.grouped(code),
            code_address=links.absolute(url_for("patient.short_code")),
            expires=i18n.format_date(screening.expires_at.date(), language),
            html_language=i18n.CLINIC_LANGUAGE,
        )


@bp.route("/screenings/<id:screening_id>/hand-over", methods=["POST"])
@auth.roles_required("intake")
def hand_over(screening_id: int):
    """Start the questionnaire on this device for the patient in front of us: the staff session
    ends at once, and the device stays with this patient until they finish or walk away."""
    screening = screening_or_404(screening_id)
    check_form()
    token = _new_link(lambda: invitations.hand_out(screening, auth.actor(), "handed_to_patient"))
    if token is None:
        return back_to(screening_id)
    auth.end_session()
    session[KIOSK_KEY] = {"screening_id": screening.id, "seen": int(utcnow().timestamp())}
    return redirect(url_for("patient.welcome", token=token), code=303)


# A member of staff's tests of the invitation e-mail: a few, then a pause (each is a real e-mail).
TEST_EMAIL_LIMIT = "5 per hour"


@bp.route("/screenings/<id:screening_id>/invitation-email")
@auth.roles_required("intake")
def invitation_email(screening_id: int):
    """The invitation e-mail as the patient would get it, not sent: its subject, its text part,
    its HTML part (framed from invitation_email_html), and a button to send oneself a test."""
    screening = screening_or_404(screening_id)
    message = invitations.preview(screening, auth.actor())
    db.session.commit()
    return render_template(
        "staff/invitation_email.html",
        screening=screening,
        subject=message["Subject"],
        sender=message["From"],
        text=message.get_body(("plain",)).get_content(),
        form=EmptyForm(),
    )


@bp.route("/screenings/<id:screening_id>/invitation-email.html")
@auth.roles_required("intake")
def invitation_email_html(screening_id: int):
    """The HTML part of the preview, alone, for the preview page's frame: no script, no
    request anywhere (sandboxed), shown only inside this site's own pages."""
    screening = screening_or_404(screening_id)
    message = invitations.preview(screening, auth.actor())
    db.session.commit()
    response = make_response(message.get_body(("html",)).get_content())
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox"
    )
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.route("/screenings/<id:screening_id>/invitation-email/test", methods=["POST"])
@auth.roles_required("intake")
@limiter.limit(TEST_EMAIL_LIMIT, key_func=lambda: f"test-email:{auth.actor().id}")
def invitation_email_test(screening_id: int):
    """Send the invitation e-mail (with a stand-in link) to one's own address."""
    screening = screening_or_404(screening_id)
    check_form()
    user = auth.actor()
    error = invitations.send_test(screening, user)
    db.session.commit()
    if error is None:
        flash(f"A test of this e-mail was sent to your address, {user.email}.")
    else:
        flash(f"The test e-mail could not be sent: {error}.", "error")
    return redirect(url_for("staff.invitation_email", screening_id=screening_id), code=303)
