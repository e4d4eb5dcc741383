"""The screenings list, one screening, and what clinicians do with it: acknowledge its red flags,
mark it reviewed, download its PDF, its FHIR bundle, or the list as CSV. (Its red flags:
flags.py.)"""

from __future__ import annotations

import tempfile
from typing import Any

from flask import Response, abort, current_app, flash, render_template, request, send_file

from .. import codec
from ..definition import model as m
from ..definition.conditions import MISSING
from ..domain import (
    NotAllowed,
    answering,
    clinic_entries,
    clinical,
    documents,
    exporting,
    invitations,
    links,
    listing,
    questionnaires,
    surgery,
)
from ..exports import fhir
from ..extensions import db
from ..models import OPEN_STATUSES, STATUSES, Screening, utcnow
from ..scoring import Assessment
from ..web import pdf_response
from . import auth
from .blueprint import attempt, back_to, bp, check_form, screening_or_404
from .flags import context as flag_panel
from .forms import (
    ClinicAnswersForm,
    EmptyForm,
    ExtendForm,
    ReviewForm,
    SurgeryForm,
    clinic_form_data,
    with_clinic_fields,
)


def _filters(clinician: bool, tiers: tuple[m.Tier, ...]) -> listing.Filters:
    """The list's filters, its days being the clinic's (the dates shown are in its zone)."""
    zone = current_app.config["SCREENING_TIMEZONE"]
    return listing.Filters.from_args(request.args, clinician, tuple(t.id for t in tiers), zone)


@bp.route("/")
@auth.roles_required("intake", "clinician")
def home():
    user = auth.actor()
    clinician = user.has_role("clinician")
    tiers = questionnaires.in_force().tiers  # the tier filter offers the file in force's
    filters = _filters(clinician, tiers)
    page = listing.search(filters, clinician, user)
    surgeons = listing.surgeons(user)
    flag_summaries = listing.flag_summaries(page.rows) if clinician else {}
    # Intake staff see no answers: the patient's own planned surgery is for clinicians.
    patient_surgery = listing.planned_surgery_answers(page.rows) if clinician else {}
    html = render_template(
        "staff/dashboard.html",
        page=page,
        filters=filters,
        clinician=clinician,
        intake=user.has_role("intake"),
        surgeons=surgeons,
        tiers=tiers,
        now=utcnow(),
        statuses=STATUSES,
        reviewed_choices=listing.REVIEWED,
        flag_summaries=flag_summaries,
        patient_surgery=patient_surgery,
    )
    # The audit event of the page, committed once it is rendered: the commit expires the rows,
    # and rendering after it would read each one again.
    db.session.commit()
    return html


@bp.route("/export.csv")
@auth.roles_required("clinician")
def export_csv():
    """The screenings the list's filters select, as CSV (answers included: clinicians only)."""
    filters = _filters(clinician=True, tiers=questionnaires.in_force().tiers)
    # Written out before the response starts (to memory, or to disk past 8 MB), so that no
    # database transaction stays open while a slow client downloads; audited as the last line
    # is read (with the ids written), committed before the response.
    buffer = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    for line in exporting.export_csv(filters, auth.actor()):
        buffer.write(line.encode("utf-8"))
    db.session.commit()
    buffer.seek(0)
    return send_file(
        buffer, mimetype="text/csv", as_attachment=True, download_name="screenings.csv", max_age=0
    )


@bp.route("/screenings/<id:screening_id>")
@auth.roles_required("intake", "clinician")
def screening(screening_id: int):
    return _page(screening_or_404(screening_id))


def _page(
    screening: Screening,
    entries_form: ClinicAnswersForm | None = None,
    review_form: ReviewForm | None = None,
    surgery_form: SurgeryForm | None = None,
) -> str:
    """The screening's page (with the clinic's entries', the review's or the operation's form
    as posted, when it has errors)."""
    user = auth.actor()
    clinician = user.has_role("clinician")
    context: dict[str, Any] = {
        "screening": screening,
        "clinician": clinician,
        "intake": user.has_role("intake"),
        "status": screening.effective_status(),
        # A red-flag notice would tell intake staff about the result: clinicians only.
        "messages": [
            m for m in invitations.messages(screening) if clinician or m.kind != "red_flag"
        ],
        "form": EmptyForm(),
        "extend_form": ExtendForm(),
        "open": screening.status in OPEN_STATUSES,
        "failed_checks": links.failed_checks(screening),
        "link_locked": screening.status in OPEN_STATUSES and links.locked(screening),
        "clinic_entries": clinic_entries.displayed(
            questionnaires.of(screening), clinic_entries.of(screening)
        ),
    }
    if screening.status in OPEN_STATUSES:
        context["entries_form"] = entries_form or clinic_form(screening)
    if clinician:  # red flags show as soon as they are raised, before anything is sent
        context.update(flag_panel(screening))
        found = listing.planned_surgery_answers([screening]).get(screening.id, {})
        context["patient_surgery"] = found
    context.update(_surgery_context(screening, clinician, surgery_form))
    if clinician and screening.status == "submitted":
        context.update(_assessment_context(screening))
        context["review_form"] = review_form or ReviewForm(formdata=None)
    clinical.viewed(screening, user)
    db.session.commit()
    return render_template("staff/screening.html", **context)


def clinic_form(screening: Screening, formdata=None) -> ClinicAnswersForm:
    """The form of the clinic's entries for the screening's questionnaire: the stored entries,
    or what was posted."""
    q = questionnaires.of(screening)
    form_class = with_clinic_fields(ClinicAnswersForm, q)
    if formdata is not None:
        return form_class(formdata=formdata)
    return form_class(formdata=None, data=clinic_form_data(q, clinic_entries.of(screening)))


@bp.route("/screenings/<id:screening_id>/clinic-answers", methods=["POST"])
@auth.roles_required("intake", "clinician")
def clinic_answers(screening_id: int):
    """Change what the clinic knows about the planned surgery, before the patient submits."""
    screening = screening_or_404(screening_id)
    if screening.status not in OPEN_STATUSES:
        flash("This screening is closed: the clinic's entries can no longer change.", "error")
        return back_to(screening_id)
    form = clinic_form(screening, request.form)
    if not form.validate_on_submit():
        return _page(screening, form), 422
    changed: list[str] = []
    change = clinic_entries.change
    if attempt(lambda: changed.extend(change(screening, form.clinic_answers, auth.actor()))):
        flash("The clinic's entries are saved." if changed else "Nothing was changed.")
    return back_to(screening_id)


def _surgery_context(
    screening: Screening, clinician: bool, form: SurgeryForm | None
) -> dict[str, Any]:
    """The operation as it happened: its records, the newest (standing) first, each with the
    procedure in words (clinicians only: intake staff see what happened and when, not what was
    done); and, for clinicians, the form to record it (or correct it)."""
    records = surgery.history(screening)
    rows = [
        {
            "record": made,
            "by": surgery.recorded_by(made),
            "procedure": surgery.procedure_rows(screening, made) if clinician else [],
        }
        for made in records
    ]
    context: dict[str, Any] = {"surgery_rows": rows, "surgery_labels": surgery.STATUS_LABELS}
    if clinician:
        context["surgery_form"] = form or surgery_form(screening, records[0] if records else None)
    return context


def surgery_form(screening: Screening, standing=None, formdata=None) -> SurgeryForm:
    """The form of the operation for the screening's questionnaire (its procedure in the codes
    of the clinic's entries): as posted, or the standing record to correct, or, before any, the
    clinic's entries of the planned procedure."""
    q = questionnaires.of(screening)
    form_class = with_clinic_fields(SurgeryForm, q)
    if formdata is not None:
        return form_class(formdata=formdata)
    if standing is None:
        data = {**clinic_form_data(q, clinic_entries.of(screening)), "replaces": ""}
        return form_class(formdata=None, data=data)
    data = {
        **clinic_form_data(q, standing.procedure or {}),
        "status": standing.status,
        "surgery_date": standing.surgery_date,
        "planned_date": standing.planned_date,
        "note": standing.note or "",
        "replaces": str(standing.id),
    }
    return form_class(formdata=None, data=data)


@bp.route("/screenings/<id:screening_id>/surgery", methods=["POST"])
@auth.roles_required("clinician")
def record_surgery(screening_id: int):
    """Record the operation as it happened (or correct the record that stands): the page again
    with the form's errors when it cannot be recorded."""
    screening = screening_or_404(screening_id)
    form = surgery_form(screening, formdata=request.form)
    if not form.validate_on_submit():
        return _page(screening, surgery_form=form), 422
    try:
        made, new = surgery.record(
            screening, form.given, user=auth.actor(), replaces=form.replaced
        )
    except surgery.Refused as exc:
        db.session.rollback()
        form.refused(exc.problems)
        return _page(screening, surgery_form=form), 422
    except NotAllowed as exc:  # recorded again meanwhile (surgery.Changed)
        db.session.rollback()
        flash(str(exc), "error")
        return back_to(screening_id)
    db.session.commit()
    if new:
        flash(f"The operation is recorded: {surgery.STATUS_LABELS[made.status].lower()}.")
    else:
        flash("Nothing was changed: this is the record that stands.")
    return back_to(screening_id)


def _assessment_context(screening: Screening) -> dict[str, Any]:
    q = questionnaires.of(screening)
    a = answering.assessment_of(screening, q)
    appendix = []
    for step_id in a.visible_steps:
        step = q.step_by_id[step_id]
        rows = [
            {
                "label": question.label,
                "answer": codec.display(question, a.answers.get(question.id, MISSING)),
            }
            for question in step.questions
            if question.id in a.visible
        ]
        appendix.append({"title": step.title, "rows": rows})
    factors = sorted(a.factors, key=lambda r: (r.factor.category, not r.factor.modifiable))
    return {
        "a": a,
        "q": q,
        "factors": factors,
        "unknowns": unknown_rows(a),
        "clinic_rows": clinic_rows(a),
        "appendix": appendix,
        "original": screening.assessment,
        "versions": documents.versions(screening, "summary"),
        "version_reasons": documents.REASONS,
    }


def unknown_rows(a: Assessment) -> list[dict[str, Any]]:
    """Each factor that may apply (an answer it reads was "Not sure"), with those answers."""
    q = a.questionnaire
    return [
        {
            "factor": r.factor,
            "axis": q.axis_by_id[r.factor.axis].label if r.factor.axis else None,
            "answers": [
                {"label": q.questions[i].label, "answer": codec.display(q.questions[i], v)}
                for i, v in r.answers
                if i in a.unknown_answers(r)
            ],
        }
        for r in a.unknowns
    ]


def clinic_rows(a: Assessment) -> list[dict[str, Any]]:
    """The clinic's entries the assessment read: used (the patient's answer did not tell), or
    beside the patient's differing answer, or agreeing with it."""
    q = a.questionnaire
    rows = []
    for entry in a.clinic:
        question = q.questions[entry.question_id]
        patient = None if entry.patient is MISSING else codec.display(question, entry.patient)
        rows.append(
            {
                "label": question.label,
                "clinic": codec.display(question, entry.clinic),
                "patient": patient,
                "used": entry.used,
                "differs": entry.differs,
            }
        )
    return rows


@bp.route("/screenings/<id:screening_id>/review", methods=["POST"])
@auth.roles_required("clinician")
def review(screening_id: int):
    """Mark a submitted screening reviewed, with an optional note (a wrong note: the page again
    with the form's error)."""
    screening = screening_or_404(screening_id)
    check_form()
    if screening.status != "submitted":
        abort(409)
    form = ReviewForm()
    if not form.validate_on_submit():
        return _page(screening, review_form=form), 422
    if attempt(lambda: clinical.mark_reviewed(screening, auth.actor(), form.note.data)):
        flash("Marked as reviewed.")
    return back_to(screening_id)


@bp.route("/screenings/<id:screening_id>/review/undo", methods=["POST"])
@auth.roles_required("clinician")
def undo_review(screening_id: int):
    screening = screening_or_404(screening_id)
    check_form()
    if attempt(lambda: clinical.undo_review(screening, auth.actor())):
        flash("The review is undone: the screening is not reviewed.")
    return back_to(screening_id)


@bp.route("/screenings/<id:screening_id>/summary.pdf")
@auth.roles_required("clinician")
def summary_pdf(screening_id: int):
    """The newest version of the summary, from the store: never rendered here. While the
    first version is being prepared, a page that says so and looks again."""
    return _summary(screening_id, None)


@bp.route("/screenings/<id:screening_id>/summary/v<id:version>.pdf")
@auth.roles_required("clinician")
def summary_version_pdf(screening_id: int, version: int):
    """One version of the summary, as it was rendered (or a page: it is being prepared)."""
    return _summary(screening_id, version)


def _summary(screening_id: int, version: int | None):
    screening = screening_or_404(screening_id)
    if screening.status != "submitted":
        abort(409)
    document = documents.summary(screening, auth.actor(), version)
    if document is None:
        if version is not None and not documents.being_prepared(screening, "summary", version):
            abort(404)
        return render_template("staff/document_pending.html", screening=screening), 202
    # Read before the commit expires them (reading them after would load the PDF again).
    suffix = "" if version is None else f"-v{document.version}"
    response = pdf_response(
        document.content, document.sha256, f"screening-{screening.reference}-summary{suffix}.pdf"
    )
    db.session.commit()
    return response


@bp.route("/screenings/<id:screening_id>/summary/refresh", methods=["POST"])
@auth.roles_required("clinician")
def refresh_pdf(screening_id: int):
    screening = screening_or_404(screening_id)
    check_form()
    if screening.status != "submitted":
        abort(409)
    documents.render_again(screening, auth.actor())
    db.session.commit()
    flash("A new version of the PDF summary is being prepared.")
    return back_to(screening_id)


@bp.route("/screenings/<id:screening_id>/fhir.json")
@auth.roles_required("clinician")
def fhir_bundle(screening_id: int):
    """The screening as a FHIR R4 Bundle (answers included: clinicians only; audited)."""
    screening = screening_or_404(screening_id)
    try:
        bundle = exporting.fhir_bundle(screening, auth.actor())
    except NotAllowed:
        abort(409)
    db.session.commit()
    response = Response(fhir.to_json(bundle), content_type="application/fhir+json; charset=utf-8")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="screening-{screening.reference}-fhir.json"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response
