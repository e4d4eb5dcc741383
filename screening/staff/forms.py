"""The staff side's forms (static WTForms classes; CSRF from Flask-WTF)."""

from __future__ import annotations

import datetime as dt
import re

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from .. import codec
from ..definition import model as m
from ..definition.conditions import MISSING
from ..domain import api_keys, clinic_entries, clinical, questionnaires, sites, surgery
from ..i18n import CLINIC_LANGUAGE, language_name
from ..mail import EMAIL_RE
from ..models import API_SCOPES, ROLES
from ..scoring import AnswerError, whole_number
from ..text import has_control_characters, without_control_characters, without_format_characters

PHONE_RE = re.compile(r"^[0-9+()\-.\s]{5,40}$")


def email_address(form, field) -> None:
    value = field.data.strip() if field.data else ""
    if value and any(c in value for c in ",; <>") and value.count("@") > 1:
        raise ValidationError("Enter one e-mail address only, like name@example.org.")
    if value and not EMAIL_RE.match(value):
        raise ValidationError("Enter an e-mail address like name@example.org.")


def not_in_future(form, field) -> None:
    if field.data and field.data > dt.date.today():
        raise ValidationError("The date of birth cannot be in the future.")


def not_in_past(form, field) -> None:
    """The patient's form's rule for the planned surgery date (`min: today`), on the
    invitation too."""
    if field.data and field.data < dt.date.today():
        raise ValidationError("The planned surgery date cannot be in the past.")


def strip(value):
    return value.strip() if isinstance(value, str) else value


CONTROL_CHARACTERS = "Remove the control characters (such as a NUL) from this field."


class StaffForm(FlaskForm):
    """A form of the staff side: no field may hold a control character (a line break only in a
    field of several lines), whatever its own validators say; format characters (a right-to-left
    override, a zero-width space) are taken out of every text field silently."""

    def validate(self, extra_validators=None) -> bool:
        for field in self:
            if isinstance(field.data, str) and not isinstance(field, PasswordField):
                field.data = without_format_characters(field.data)
        valid = super().validate(extra_validators)
        for field in self:
            values = field.data if isinstance(field.data, list) else [field.data]
            multiline = isinstance(field, TextAreaField)
            if any(isinstance(v, str) and has_control_characters(v, multiline) for v in values):
                field.errors = [*field.errors, CONTROL_CHARACTERS]
                if isinstance(field.data, str):  # shown again without them
                    field.data = without_control_characters(field.data, multiline)
                valid = False
        return valid


class WholeNumberField(IntegerField):
    """A whole number read strictly: digits only after Unicode normalisation (int() would also
    take "1_0" and Arabic-Indic digits)."""

    def process_formdata(self, valuelist) -> None:
        if valuelist:
            self.data = whole_number(valuelist[0])
            if self.data is None:
                raise ValueError("Enter a whole number, using digits only.")


class ClinicEntries(StaffForm):
    """A form with a field per question the clinic may enter (`clinic_<id>`), added by
    `with_clinic_fields`; each is optional, and typed by the engine's own reading of an answer
    (`codec.parse`), so a value it would not take is this field's error. After `validate`,
    `clinic_answers` holds the entries to keep (question id -> stored value)."""

    clinic_questions: tuple[m.Question, ...] = ()

    def clinic_fields(self) -> list:
        return [self[f"clinic_{question.id}"] for question in self.clinic_questions]

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        self.clinic_answers: dict = {}
        for question in self.clinic_questions:
            field = self[f"clinic_{question.id}"]
            if field.errors:
                continue
            try:
                value = codec.parse(question, field.data)
            except AnswerError as exc:
                field.errors = [*field.errors, str(exc)]
                valid = False
                continue
            if value is not MISSING:
                self.clinic_answers[question.id] = codec.to_stored(value)
        return valid


def _clinic_field(question: m.Question):
    """A field for the clinic's entry: a select (blank first: "Not entered") for options and
    yes/no, a whole number within the question's bounds, else the text the engine reads."""
    label = question.label
    if question.type in ("choice", "yes_no"):
        if question.type == "yes_no":
            choices = [SelectChoice("yes", "Yes"), SelectChoice("no", "No")]
        else:
            choices = [
                SelectChoice(str(o.value), o.label) for o in clinic_entries.options(question)
            ]
        return SelectField(
            label, choices=[SelectChoice("", "Not entered"), *choices], validators=[Optional()]
        )
    if question.type == "integer":
        bounds = {k: v for k, v in (("min", question.min), ("max", question.max)) if v is not None}
        return WholeNumberField(label, validators=[Optional()], render_kw=bounds)
    return StringField(label, validators=[Optional()], filters=[strip])


def with_clinic_fields(base: type[ClinicEntries], q: m.Questionnaire) -> type[ClinicEntries]:
    """`base` with a field per question `q` marks `clinic` (a new class each time: the fields
    follow the questionnaire)."""
    asked = clinic_entries.questions(q)
    fields = {f"clinic_{question.id}": _clinic_field(question) for question in asked}
    return type(base.__name__, (base,), {**fields, "clinic_questions": asked})


def clinic_form_data(q: m.Questionnaire, entries: dict) -> dict:
    """The fields' data for stored entries (to show them in the form)."""
    return {
        f"clinic_{question.id}": codec.to_form(question, entries[question.id])
        for question in clinic_entries.questions(q)
        if question.id in entries
    }


class LoginForm(StaffForm):
    email = EmailField(
        "E-mail", validators=[DataRequired("Enter your e-mail address.")], filters=[strip]
    )
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])


class InvitationForm(ClinicEntries):
    patient_name = StringField(
        "Patient's full name",
        validators=[DataRequired("Enter the patient's name."), Length(max=200)],
        filters=[strip],
    )
    patient_dob = DateField(
        "Date of birth",
        validators=[InputRequired("Enter the date of birth."), not_in_future],
    )
    patient_mrn = StringField("MRN", validators=[Optional(), Length(max=64)], filters=[strip])
    patient_email = EmailField(
        "E-mail", validators=[Optional(), Length(max=254), email_address], filters=[strip]
    )
    patient_phone = StringField("Phone", validators=[Optional(), Length(max=40)], filters=[strip])
    surgeon = StringField("Surgeon", validators=[Optional(), Length(max=200)], filters=[strip])
    planned_surgery = StringField(
        "Planned surgery", validators=[Optional(), Length(max=200)], filters=[strip]
    )
    surgery_date = DateField("Planned surgery date", validators=[Optional(), not_in_past])
    language = SelectField(
        "Language",
        choices=[SelectChoice("en", "English")],
        default="en",
        validators=[DataRequired("Choose a language.")],
    )
    link_days = WholeNumberField(
        "Link valid for (days)",
        default=14,
        validators=[InputRequired("Enter a number of days."), NumberRange(1, 90)],
    )
    # Not ticked until asked for: a blank form has no address to send to.
    send_email = BooleanField("Send the link by e-mail now", default=False)
    site = SelectField("Site", coerce=int, validators=[InputRequired("Choose a site.")])

    def __init__(self, *args, sites=(), **kwargs):
        super().__init__(*args, **kwargs)
        # The sites the member of staff works for: no choice (no field) when there is one.
        if len(sites) > 1:
            self.site.choices = [SelectChoice(site.id, site.name) for site in sites]
        else:
            del self.site
        # The languages the questionnaire in force and the patient's pages both speak.
        self.language.choices = [
            SelectChoice(code, language_name(code, CLINIC_LANGUAGE))
            for code in questionnaires.offered_languages()
        ]

    def validate_patient_phone(self, field) -> None:
        if field.data and not PHONE_RE.match(field.data):
            raise ValidationError("Enter a phone number using digits, spaces and + ( ) -.")

    def validate_send_email(self, field) -> None:
        if field.data and not self.patient_email.data:
            raise ValidationError("Add an e-mail address to send the link, or untick this box.")


class ClinicAnswersForm(ClinicEntries):
    """The clinic's entries changed on the screening's page, before the patient submits."""


class DayField(DateField):
    """A date typed as YYYY-MM-DD (or chosen in the browser's date picker), with a message that
    says what to type."""

    def process_formdata(self, valuelist) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Enter a real date, like 2026-03-31.") from None


class SurgeryForm(ClinicEntries):
    """The operation as it happened, on the screening's page: performed (the date and the
    procedure, in the codes of the clinic's entries, `clinic_<id>`), cancelled or postponed (a
    new planned date, if known); a note. The fields under an option not chosen are cleared
    before validation (GOV.UK's conditional questions: what they held is not recorded).
    `replaces`: the id of the record that stood when the page was made ("" for none). The
    clinic's rules (the dates, a procedure said) are the domain's: `surgery.check`."""

    status = RadioField(
        "What happened",
        choices=[SelectChoice(value, surgery.STATUS_LABELS[value]) for value in surgery.STATUSES],
        validators=[InputRequired("Choose whether the operation was performed, cancelled or "
                                  "postponed.")],
        validate_choice=True,
    )
    surgery_date = DayField("Date of surgery", validators=[Optional()])
    planned_date = DayField("New planned date", validators=[Optional()])
    note = TextAreaField(
        "Note",
        validators=[
            Optional(),
            Length(
                max=surgery.NOTE_LENGTH, message=f"Use at most {surgery.NOTE_LENGTH} characters."
            ),
        ],
        filters=[strip],
        render_kw={"rows": 2},
        id="surgery_note",  # the review's note, on the same page, is "note"
    )
    replaces = HiddenField()

    # Which field shows each of the domain's problems (surgery.Refused).
    def field_for(self, problem: str):
        if problem.startswith("procedure."):
            return self[f"clinic_{problem.partition('.')[2]}"]
        if problem == "procedure":
            fields = self.clinic_fields()
            return fields[0] if fields else self.note
        return self[problem]

    def validate(self, extra_validators=None) -> bool:
        chosen = self.status.data
        cleared = [] if chosen == "performed" else [self.surgery_date, *self.clinic_fields()]
        if chosen != "postponed":
            cleared.append(self.planned_date)
        for field in cleared:
            field.data, field.raw_data, field.process_errors = None, [], []
        return super().validate(extra_validators)

    @property
    def given(self) -> surgery.Given:
        return surgery.Given(
            status=self.status.data or "",
            surgery_date=self.surgery_date.data,
            planned_date=self.planned_date.data,
            procedure=self.clinic_answers,
            note=self.note.data,
        )

    @property
    def replaced(self) -> int | None:
        """The id of the record that stood when the page was made (None: none stood)."""
        value = (self.replaces.data or "").strip()
        return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None

    def refused(self, problems: dict[str, str]) -> None:
        """Show the domain's problems on their fields."""
        for problem, message in problems.items():
            field = self.field_for(problem)
            field.errors = [*field.errors, message]


class ExtendForm(StaffForm):
    days = WholeNumberField(
        "Extend by (days)",
        default=7,
        validators=[InputRequired("Enter a number of days."), NumberRange(1, 90)],
    )


class ReviewForm(StaffForm):
    """Mark a submitted screening reviewed, with an optional note."""

    note = TextAreaField(
        "Note",
        validators=[
            Optional(),
            Length(
                max=clinical.REVIEW_NOTE_LENGTH,
                message=f"Use at most {clinical.REVIEW_NOTE_LENGTH} characters.",
            ),
        ],
        filters=[strip],
        render_kw={"rows": 2},
    )


class EmptyForm(StaffForm):
    """A form with only the CSRF token, for buttons that change something."""


def sites_field() -> SelectMultipleField:
    return SelectMultipleField(
        "Sites",
        coerce=int,
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        invalid_choice_message="Choose sites from the list.",
        invalid_value_message="Choose sites from the list.",
    )


def all_sites_field() -> BooleanField:
    return BooleanField("All sites: network-wide, including sites added later")


class SitesForm(StaffForm):
    """A form that puts an account or a key in sites: those ticked, or all of them (a choice for
    a network-wide admin only). `offered`: the sites the admin may give (`sites.choices`); none
    when the clinic has one site, and then the form has no site fields at all. Subclasses end
    with `sites = sites_field()` and `all_sites = all_sites_field()`."""

    def __init__(self, *args, offered=(), network=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not offered:
            del self.sites
            del self.all_sites
            return
        self.sites.choices = [SelectChoice(site.id, site.name) for site in offered]
        if not network:
            del self.all_sites

    def validate_sites(self, field) -> None:
        if not field.data and not (self.all_sites is not None and self.all_sites.data):
            raise ValidationError(
                "Choose at least one site, or all sites." if self.all_sites is not None
                else "Choose at least one site."
            )  # fmt: skip

    @property
    def chosen(self) -> tuple[list[int] | None, bool]:
        """The site ids and whether all sites, as `sites.assign` takes them (ids None: the
        form had no site fields)."""
        if self.sites is None:
            return None, False
        everywhere = self.all_sites is not None and bool(self.all_sites.data)
        return ([] if everywhere else list(self.sites.data or [])), everywhere


class UserForm(SitesForm):
    email = EmailField(
        "E-mail",
        validators=[DataRequired("Enter an e-mail address."), email_address],
        filters=[strip],
    )
    name = StringField("Name", validators=[Optional(), Length(max=200)], filters=[strip])
    roles = SelectMultipleField(
        "Roles",
        choices=[SelectChoice(r, r.capitalize()) for r in ROLES],
        validators=[DataRequired("Choose at least one role.")],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
    )
    password = PasswordField("Initial password", validators=[DataRequired("Enter a password.")])
    sites = sites_field()
    all_sites = all_sites_field()


class SiteAccessForm(SitesForm):
    """The sites of an existing account."""

    sites = sites_field()
    all_sites = all_sites_field()


class SiteForm(StaffForm):
    name = StringField(
        "Name",
        validators=[
            DataRequired("Enter the site's name."),
            Length(max=sites.NAME_LENGTH, message=f"Use at most {sites.NAME_LENGTH} characters."),
        ],
        filters=[strip],
    )


SCOPE_LABELS = {
    "screenings:read": "screenings:read: the list of screenings, their status and risk assessment",
    "exports:read": "exports:read: also the patient's answers",
    "surgery:write": "surgery:write: record the operation as it happened (performed, cancelled "
    "or postponed)",
}


class ApiKeyForm(SitesForm):
    name = StringField(
        "Client name",
        validators=[
            DataRequired("Enter the name of the system that will use the key."),
            Length(max=api_keys.NAME_LENGTH),
        ],
        filters=[strip],
    )
    scopes = SelectMultipleField(
        "What it may do",
        choices=[SelectChoice(scope, SCOPE_LABELS[scope]) for scope in API_SCOPES],
        default=["screenings:read"],
        validators=[DataRequired("Choose at least one thing the key may do.")],
        invalid_choice_message="Choose from the list.",
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
    )
    sites = sites_field()
    all_sites = all_sites_field()


class PasswordSetForm(StaffForm):
    new = PasswordField("New password", validators=[DataRequired("Enter a new password.")])
    again = PasswordField(
        "New password again", validators=[DataRequired("Enter the new password again.")]
    )

    def validate_again(self, field):
        if field.data != self.new.data:
            raise ValidationError("The two new passwords are not the same.")


class PasswordChangeForm(PasswordSetForm):
    current = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password.")]
    )


class CodeForm(StaffForm):
    code = StringField(
        "Code",
        validators=[DataRequired("Enter the code."), Length(max=40)],
        filters=[strip],
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"},
    )
