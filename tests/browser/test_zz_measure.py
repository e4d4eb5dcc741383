from tests.browser.conftest import DESKTOP_ARGS


def test_measure(patient, make_context):
    answers = patient.example("moderate tier - two-level")
    for label, args in [("390", {}), ("1280", DESKTOP_ARGS)]:
        page = make_context(**args).new_page()
        token = patient.new_token()
        patient.seed(page, token, answers)
        h = page.evaluate("document.documentElement.scrollHeight")
        page.screenshot(path=f"/tmp/pages/review-before-{label}.png", full_page=True, scale="css")
        print("REVIEW", label, h)
