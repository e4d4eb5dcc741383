"""The domain: operations named for what the clinic does, between the adapters (patient pages,
staff pages, the JSON API, the command line) and the ground (the questionnaire language, the
engine, the models). Operations change the session and flush; the caller commits once. Each writes
its own audit events.
"""


class NotAllowed(Exception):
    """The screening (or account, or key) is not in a state that allows this; the message says
    why in words for staff (e.g. "This screening is submitted.")."""
