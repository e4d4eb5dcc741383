"""FHIR R4: the questionnaire as a Questionnaire, a submitted screening as a Bundle.

Pure functions that build plain JSON-able dicts (no Flask, no database, no FHIR library: the tests
validate the output with the fhir.resources models).

- `questionnaire_resource(q)` (`questionnaire`): steps become group items, questions their items;
  a `show_if` becomes enableWhen, or the condition in an extension (`conditions`).
- `bundle(assessment, patient, meta)` (`screening_bundle`): the Patient, the QuestionnaireResponse,
  the instruments' Observations and the RiskAssessment.
- `common`: URLs and code systems, ids, codings, an answer as a FHIR value, `to_json`.
"""

from .common import (
    BASE_URL,
    CATEGORY_SYSTEM,
    CONDITION_URL,
    CONTENT_HASH_SYSTEM,
    ENTRY_FORMAT_URL,
    FACTOR_PROPERTY_SYSTEM,
    IDENTIFIER_TYPE,
    ITEM_CONTROL_SYSTEM,
    ITEM_CONTROL_URL,
    MAX_VALUE_URL,
    MIN_LENGTH_URL,
    MIN_VALUE_URL,
    OBSERVATION_CATEGORY,
    ORDINAL_URL,
    RED_FLAG_URL,
    SCREENING_SYSTEM,
    TRANSLATION_URL,
    UCUM,
    UNIT_OPTION_URL,
    UNIT_URL,
    UNITS,
    code_system,
    coding_of,
    fhir_id,
    option_coding,
    questionnaire_url,
    step_link_id,
    text_element,
    to_json,
    value_element,
)
from .conditions import NotMapped, condition_extension, enable_when
from .questionnaire import questionnaire_resource
from .screening_bundle import PatientDetails, ScreeningMeta, bundle

__all__ = [
    "BASE_URL",
    "CATEGORY_SYSTEM",
    "CONDITION_URL",
    "CONTENT_HASH_SYSTEM",
    "FACTOR_PROPERTY_SYSTEM",
    "IDENTIFIER_TYPE",
    "ITEM_CONTROL_SYSTEM",
    "ITEM_CONTROL_URL",
    "ENTRY_FORMAT_URL",
    "MAX_VALUE_URL",
    "MIN_LENGTH_URL",
    "MIN_VALUE_URL",
    "OBSERVATION_CATEGORY",
    "ORDINAL_URL",
    "RED_FLAG_URL",
    "SCREENING_SYSTEM",
    "TRANSLATION_URL",
    "UCUM",
    "UNITS",
    "UNIT_OPTION_URL",
    "UNIT_URL",
    "NotMapped",
    "PatientDetails",
    "ScreeningMeta",
    "bundle",
    "code_system",
    "coding_of",
    "condition_extension",
    "enable_when",
    "fhir_id",
    "option_coding",
    "questionnaire_resource",
    "questionnaire_url",
    "step_link_id",
    "text_element",
    "to_json",
    "value_element",
]
