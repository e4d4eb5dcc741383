"""The questionnaire language: YAML -> validated, immutable `Questionnaire`."""

from .load import load_path, load_text
from .model import Questionnaire
from .yaml_source import DefinitionError, Problem

__all__ = ["DefinitionError", "Problem", "Questionnaire", "load_path", "load_text"]
