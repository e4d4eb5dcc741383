"""Exports of questionnaires and screenings to other systems: pure, no Flask and no database.

`fhir` (a package) builds FHIR R4 resources as plain JSON-able dicts; `csv` writes the clinicians'
CSV. `screening.domain.exporting` feeds them a screening from the database.
"""
