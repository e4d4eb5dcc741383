"""The patient's pages of issue 20: instrument stems with every item (item 9), the reference
number on the confirmation (item 11), and the things to work on, at most three first (item 12);
in English and Spanish."""

from __future__ import annotations

import pytest

from screening.patient import pages
from screening.scoring import score
from tests.helpers import location_path, new_screening

from .support import example, main, main_text, questionnaire, screening_row, walk

STEMS = {
    "en": {
        "mood": "Over the last 2 weeks, how often have you been bothered by any of the "
        "following problems?",
        "worry": "Over the last 2 weeks, how often have you been bothered by the following "
        "problems?",
    },
    "es": {
        "mood": "Durante las últimas 2 semanas, ¿qué tan seguido ha tenido molestias debido a "
        "los siguientes problemas?",
        "worry": "Durante las últimas 2 semanas, ¿con qué frecuencia le han molestado los "
        "siguientes problemas?",
    },
}


def by_class(node, tag: str, name: str):
    found = [n for n in node.find_all(tag) if n.has_class(name)]
    return found[0] if found else None


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_phq9_and_gad7_item_carries_its_stem_in_its_question(app, client, language):
    """The stem is in each item's legend (what a screen reader reads as the question), not
    only once at the top of the page; other questions of the step have none."""
    token = new_screening(app, language=language)
    answers = example(app, "high tier")
    walk(client, app, token, answers, until="worry")
    q = questionnaire(app)
    for step_id, instrument in (("mood", "phq9"), ("worry", "gad7")):
        page = main(client.get(f"/s/{token}/step/{step_id}"))
        items = set(q.instrument_by_id[instrument].items)
        for question in q.step_by_id[step_id].questions:
            legend = page.by_id(f"question-{question.id}").find("legend")
            stem = legend.find("span", class_="question-stem")
            if question.id in items:
                assert stem is not None and stem.text == STEMS[language][step_id]
                assert legend.text.startswith(STEMS[language][step_id] + " ")
            else:
                assert stem is None, question.id
        # The stem is not said twice in a row at the top of the page.
        assert page.find("div", class_="intro") is None


def test_the_review_page_shows_the_stem_once_above_the_items(app, client):
    token = new_screening(app)
    walk(client, app, token, example(app, "high tier"))
    page = main(client.get(f"/s/{token}/review"))
    mood = page.find("section", **{"aria-labelledby": "review-mood"})
    assert by_class(mood, "p", "review-stem").text == STEMS["en"]["mood"]
    pain = page.find("section", **{"aria-labelledby": "review-pain"})
    assert by_class(pain, "p", "review-stem") is None


def submitted(app, client, name: str, language: str = "en") -> str:
    token = new_screening(app, language=language)
    walk(client, app, token, example(app, name))
    response = client.post(f"/s/{token}/submit")
    assert location_path(response) == f"/s/{token}/result"
    return token


@pytest.mark.parametrize(("language", "label"), [("en", "Your reference number"),
                                                 ("es", "Su número de referencia")])
def test_the_confirmation_gives_a_reference_to_quote(app, client, language, label):
    token = submitted(app, client, "low tier", language)
    response = client.get(f"/s/{token}/result")
    panel = by_class(main(response), "div", "panel-confirmation")
    reference = f"S-{screening_row(app, token)['id']:06d}"
    assert panel.find("h1") is not None
    assert label in panel.text
    assert panel.find("strong", class_="reference").text == reference


def test_things_to_work_on_are_modifiable_and_the_most_important_first():
    """Most points first; at equal points, the questionnaire's order. Never a factor the
    questionnaire marks as not modifiable."""
    from screening.definition import load_path

    q = load_path("questionnaires/fbss-preop.yaml")
    order = [f.id for f in q.risk_factors]
    checked = 0
    for ex in q.examples:
        assessment = score(q, ex.answers)
        found = pages.things_to_work_on(assessment)
        assert {f.id for f in found} == {r.id for r in assessment.factors if r.factor.modifiable}
        assert all(f.modifiable for f in found)
        keys = [(-f.points, order.index(f.id)) for f in found]
        assert keys == sorted(keys), ex.name
        checked += len(found) > pages.TOP_THINGS
    assert checked >= 2  # examples with more than three things, so the order matters


def test_the_order_of_things_to_work_on_by_hand():
    """The "high tier" example, worked out by hand from the YAML: distress (2 points) first,
    then the 1-point factors in the questionnaire's order, then the 0-point ones; the
    procedure, revision, litigation and widespread pain (not modifiable) are not offered."""
    from screening.definition import load_path

    q = load_path("questionnaires/fbss-preop.yaml")
    ex = next(e for e in q.examples if e.name.startswith("high tier - long revision"))
    found = [f.id for f in pages.things_to_work_on(score(q, ex.answers))]
    assert found == ["pain_related_distress", "nicotine", "nicotine_with_fusion",
                     "gad7_moderate", "sleep_problem", "audit_c_positive", "low_activity"]


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_result_page_leads_with_three_things_and_the_rest_behind_more(app, client, language):
    token = submitted(app, client, "high tier", language)
    page = main(client.get(f"/s/{token}/result"))
    q = questionnaire(app).localized(language)
    ex = next(e for e in q.examples if e.name.startswith("high tier - long revision"))
    expected = pages.things_to_work_on(score(q, ex.answers))
    first = page.by_id("work-on").find_all("li")
    assert [li.find("p").text for li in first] == [
        " ".join(f.patient_text.split()) for f in expected[:3]]
    more = page.find("details", class_="more-work-on")
    summary = more.find("summary").text
    assert summary == ("More things that may help (4)" if language == "en"
                       else "Más cosas que pueden ayudar (4)")
    rest = more.find_all("li")
    assert [li.find("p").text for li in rest] == [
        " ".join(f.patient_text.split()) for f in expected[3:]]
    text = main_text(client.get(f"/s/{token}/result"))
    for factor in q.risk_factors:
        if not factor.modifiable:
            assert " ".join(factor.patient_text.split()) not in text, factor.id


def test_three_things_or_fewer_have_no_more_disclosure(app, client):
    token = submitted(app, client, "medical 2 points")
    page = main(client.get(f"/s/{token}/result"))
    assert len(page.by_id("work-on").find_all("li")) == 2
    assert page.find("details", class_="more-work-on") is None
