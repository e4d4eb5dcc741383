"""The questionnaire language: YAML -> validated, immutable `Questionnaire`."""

from .load import content_hash, load_path, load_text, read_path
from .model import Questionnaire
from .yaml_source import DefinitionError, Problem

__all__ = [
    "DefinitionError",
    "Problem",
    "Questionnaire",
    "content_hash",
    "load_path",
    "load_text",
    "read_path",
]
