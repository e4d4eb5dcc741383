"""The questionnaire language: YAML -> validated, immutable `Questionnaire`."""

from .load import DefinitionError, Problem, load_path, load_text
from .model import Questionnaire

__all__ = ["DefinitionError", "Problem", "Questionnaire", "load_path", "load_text"]
