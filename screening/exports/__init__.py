"""Exports of questionnaires and screenings to other systems.

`fhir` builds FHIR R4 resources as plain JSON-able dicts: pure, no Flask and no database.
`stored` feeds it a screening from the database (for the command line and the staff page).
"""
