"""The survey list and editor: admins build surveys with a form as a browser posts it."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session

from tests import factories as f
from voc.surveys.models import Survey, SurveyVersion

XSS = "<script>alert(1)</script><img src=x onerror=alert(1)>"


def _touchpoints(engine):
    with Session(engine) as session:
        f.touchpoint(session)
        f.touchpoint(session, "ticket_closed", stage="support")
        session.commit()


def _form(csrf: str, **extra) -> dict:
    """The editor's fields as a browser sends them for a two-question survey with one trigger."""
    return {"csrf_token": csrf, "key": "after_support", "title": "How was support?", "recontact_days": "14",
            "thank_you": "Thanks!",
            "q-0-id": "csat", "q-0-type": "csat", "q-0-prompt": "How satisfied are you?", "q-0-required": "1",
            "q-0-scale": "", "q-0-options": "", "q-0-attribute": "", "q-0-show_if_question": "",
            "q-0-show_if_op": "eq", "q-0-show_if_value": "",
            "q-1-id": "channel", "q-1-type": "single_choice", "q-1-prompt": "How did you reach us?",
            "q-1-scale": "", "q-1-options": "Phone\r\nChat\r\n\r\nE-mail", "q-1-attribute": "preferred_channel",
            "q-1-show_if_question": "csat", "q-1-show_if_op": "lte", "q-1-show_if_value": "3",
            "t-0-touchpoint": "ticket_closed", "t-0-sample_rate": "0.5", "t-0-delay_minutes": "30",
            "t-0-expires_after_hours": "72", "t-0-channel": "email",
            "t-0-c-0-attribute": "tier", "t-0-c-0-op": "in", "t-0-c-0-value": "gold, silver",
            "action": "save", **extra}


def test_an_admin_creates_a_survey_with_the_form(client, engine, login):
    _touchpoints(engine)
    csrf = login("admin")
    assert client.get("/dashboard/surveys/new").status_code == 200
    saved = client.post("/dashboard/surveys/new", data=_form(csrf), follow_redirects=False)
    assert saved.status_code == 303, saved.text
    with Session(engine) as session:
        survey = session.scalars(select(Survey).where(Survey.key == "after_support")).one()
        assert survey.title == "How was support?" and survey.recontact_days == 14 and survey.status == "draft"
        assert survey.questions == [
            {"id": "csat", "type": "csat", "prompt": "How satisfied are you?", "required": True},
            {"id": "channel", "type": "single_choice", "prompt": "How did you reach us?", "required": False,
             "options": ["Phone", "Chat", "E-mail"], "attribute": "preferred_channel",
             "show_if": {"question_id": "csat", "op": "lte", "value": 3}}]
        assert survey.triggers == [{"touchpoint": "ticket_closed", "sample_rate": 0.5, "delay_minutes": 30.0,
                                    "expires_after_hours": 72.0, "channel": "email",
                                    "conditions": [{"attribute": "tier", "op": "in", "value": ["gold", "silver"]}],
                                    "reminder_after_days": 3.0}]  # the API's default: the editor has no field
    listing = client.get(saved.headers["location"])
    assert "How was support?" in listing.text and "Saved survey" in listing.text
    # The editor shows it again as it was saved, and saving unchanged makes no new version.
    edit = client.get("/dashboard/surveys/after_support/edit")
    assert 'value="preferred_channel"' in edit.text and "Phone\nChat\nE-mail" in edit.text
    again = _form(csrf)
    del again["key"]
    assert client.post("/dashboard/surveys/after_support/edit", data=again,
                       follow_redirects=False).status_code == 303
    with Session(engine) as session:
        assert session.scalars(select(Survey).where(Survey.key == "after_support")).one().version == 1


def test_questions_move_and_go_with_htmx_and_without(client, engine, login):
    _touchpoints(engine)
    csrf = login("admin")
    htmx = {"HX-Request": "true", "X-CSRF-Token": csrf}
    down = client.post("/dashboard/surveys/new", data=_form(csrf, action="down:0"), headers=htmx)
    assert down.status_code == 200 and down.text.lstrip().startswith('<section id="question-list"')
    assert down.text.index('value="channel"') < down.text.index('value="csat"')
    added = client.post("/dashboard/surveys/new", data=_form(csrf, action="add_question"), headers=htmx)
    assert 'name="q-2-prompt"' in added.text
    # Without JavaScript: the whole page comes back with the change, nothing saved.
    removed = client.post("/dashboard/surveys/new", data=_form(csrf, action="remove_question:0"))
    assert removed.status_code == 200 and "<html" in removed.text
    assert 'name="q-1-id"' not in removed.text and 'value="channel"' in removed.text
    trigger = client.post("/dashboard/surveys/new", data=_form(csrf, action="add_condition:0"), headers=htmx)
    assert trigger.text.lstrip().startswith('<section id="trigger-list"') and 't-0-c-1-attribute' in trigger.text
    with Session(engine) as session:
        assert session.scalar(select(func.count(Survey.id))) == 0


def test_errors_show_next_to_the_fields_and_nothing_is_saved(client, engine, login):
    _touchpoints(engine)
    csrf = login("admin")
    bad = _form(csrf, **{"q-0-prompt": "", "q-1-options": "", "t-0-sample_rate": "2", "title": XSS})
    answer = client.post("/dashboard/surveys/new", data=bad)
    assert answer.status_code == 422
    assert 'id="err-questions-0-prompt"' in answer.text and 'id="err-triggers-0-sample_rate"' in answer.text
    assert "needs options" in answer.text and "Nothing was saved" in answer.text
    assert "<script>alert(1)</script>" not in answer.text and "&lt;script&gt;" in answer.text
    unknown = client.post("/dashboard/surveys/new", data=_form(csrf, **{"t-0-touchpoint": "nowhere"}))
    assert unknown.status_code == 422 and 'id="err-triggers-0-touchpoint"' in unknown.text
    with Session(engine) as session:
        assert session.scalar(select(func.count(Survey.id))) == 0
        assert session.scalar(select(func.count(SurveyVersion.id))) == 0


def test_viewers_read_the_list_but_change_nothing(client, engine, login):
    with Session(engine) as session:
        f.touchpoint(session)
        f.survey(session, title=XSS)
        session.commit()
    csrf = login("viewer")
    listing = client.get("/dashboard/surveys")
    assert listing.status_code == 200 and "post_delivery" in listing.text and "New survey" not in listing.text
    assert "<script>alert(1)</script>" not in listing.text and "&lt;img src=x" in listing.text
    assert client.get("/dashboard/surveys/new").status_code == 403
    assert client.get("/dashboard/surveys/post_delivery/edit").status_code == 403
    assert client.post("/dashboard/surveys/new", data=_form(csrf)).status_code == 403
    assert client.post("/dashboard/surveys/post_delivery/status",
                       data={"status": "paused", "csrf_token": csrf}).status_code == 403
    preview = client.get("/dashboard/surveys/post_delivery/preview")
    assert preview.status_code == 200 and 'name="q_nps"' in preview.text and "<script>alert(1)" not in preview.text
    assert client.get("/dashboard/surveys", follow_redirects=False).status_code == 200


def test_anonymous_visitors_are_sent_to_login(client):
    answer = client.get("/dashboard/surveys/new", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_an_admin_pauses_and_activates_with_csrf(client, engine, login):
    with Session(engine) as session:
        f.touchpoint(session)
        f.survey(session)
        session.commit()
    csrf = login("admin")
    assert client.post("/dashboard/surveys/post_delivery/status", data={"status": "paused"}).status_code == 403
    paused = client.post("/dashboard/surveys/post_delivery/status", data={"status": "paused", "csrf_token": csrf})
    assert paused.status_code == 200 and "Activate" in paused.text
    with Session(engine) as session:
        assert session.scalars(select(Survey)).one().status == "paused"
    client.post("/dashboard/surveys/post_delivery/status", data={"status": "active", "csrf_token": csrf})
    with Session(engine) as session:
        assert session.scalars(select(Survey)).one().status == "active"


def test_the_preview_shows_the_unsaved_editor_read_only(client, engine, login):
    _touchpoints(engine)
    csrf = login("admin")
    editor = client.get("/dashboard/surveys/new").text
    # The editor posts its form into a sandboxed frame: scripts and forms do not run in it.
    assert 'formaction="/dashboard/surveys/preview" formtarget="survey-preview"' in editor
    assert '<iframe id="survey-preview" name="survey-preview"' in editor and 'sandbox="allow-same-origin"' in editor
    draft = _form(csrf, **{"title": XSS, "q-1-prompt": f"How did you reach us? {XSS}"})
    preview = client.post("/dashboard/surveys/preview", data=draft)
    assert preview.status_code == 200 and "<html" in preview.text
    assert 'name="q_csat"' in preview.text and 'value="E-mail"' in preview.text  # the questions as typed
    assert "<script>alert(1)</script>" not in preview.text and "How did you reach us? &lt;script&gt;" in preview.text
    assert 'class="survey-card"' in preview.text and 'action="#"' in preview.text
    assert "<script" not in preview.text  # the frame runs no scripts (it is sandboxed, and there are none)
    assert "frame-ancestors 'self'" in preview.headers["content-security-policy"]
    assert "x-frame-options" not in preview.headers
    with Session(engine) as session:
        assert session.scalar(select(func.count(Survey.id))) == 0  # a preview saves nothing


def test_the_preview_of_a_saved_survey_shows_edits_before_they_are_saved(client, engine, login):
    _touchpoints(engine)
    csrf = login("admin")
    assert client.post("/dashboard/surveys/new", data=_form(csrf), follow_redirects=False).status_code == 303
    editor = client.get("/dashboard/surveys/after_support/edit").text
    assert 'src="/dashboard/surveys/after_support/preview/frame"' in editor  # the saved one, at first
    edited = _form(csrf, **{"q-0-prompt": "Rate our support today", "q-2-id": "more", "q-2-type": "rating",
                            "q-2-prompt": "Rate the answer", "q-2-scale": "4"})
    del edited["key"]
    preview = client.post("/dashboard/surveys/preview", data=edited)
    assert "Rate our support today" in preview.text and "How satisfied are you?" not in preview.text
    assert 'name="q_more" value="4"' in preview.text and 'name="q_more" value="5"' not in preview.text
    with Session(engine) as session:
        survey = session.scalars(select(Survey)).one()
        assert survey.version == 1 and survey.questions[0]["prompt"] == "How satisfied are you?"
    saved_frame = client.get("/dashboard/surveys/after_support/preview/frame")
    assert "frame-ancestors 'self'" in saved_frame.headers["content-security-policy"]


def test_a_preview_of_questions_that_cannot_be_shown_says_what_to_fix(client, engine, login):
    _touchpoints(engine)
    csrf = login("admin")
    preview = client.post("/dashboard/surveys/preview", data=_form(csrf, **{"q-1-options": ""}))
    assert preview.status_code == 200 and "Nothing to preview yet" in preview.text
    assert "questions.1" in preview.text and "needs options" in preview.text


def test_the_preview_needs_an_admin_and_the_csrf_token(client, engine, login):
    _touchpoints(engine)
    csrf = login("admin")
    no_token = _form(csrf)
    del no_token["csrf_token"]
    assert client.post("/dashboard/surveys/preview", data=no_token).status_code == 403
    client.post("/logout", data={"csrf_token": csrf})
    assert client.post("/dashboard/surveys/preview", data=_form(csrf), follow_redirects=False).status_code in (303, 403)
    viewer_csrf = login("viewer")
    assert client.post("/dashboard/surveys/preview", data=_form(viewer_csrf)).status_code == 403


def test_a_surveys_own_page_shows_its_choice_questions(client, engine, login, run_jobs):
    from datetime import timedelta

    from tests.analytics.helpers import answer_at
    from voc.db import utcnow

    for plan in ("Pro", "Pro", "Basic"):
        answer_at(engine, utcnow() - timedelta(days=2), [("nps", 9), ("plan", plan)], touchpoint="renewal",
                  title="Renewal survey")
    run_jobs()
    login("viewer")
    listing = client.get("/dashboard/surveys").text
    assert 'href="http://testserver/dashboard/surveys/survey_renewal">Renewal survey</a>' in listing
    page = client.get("/dashboard/surveys/survey_renewal?period=30d").text
    plan = " ".join(page.split("Which plan?")[1].split("</figure>")[0].split())
    assert "n = 3 respondents who saw the question" in plan and "single choice" in plan
    assert ">Pro</a></th>" in plan and "66.7%" in plan and "answer=plan%3APro" in plan
    liked = " ".join(page.split("What did you like?")[1].split("</figure>")[0].split())
    assert "n = 3 respondents who saw the question" in liked and '<td class="num">0</td>' in liked
    assert "Period: <strong>" in page and '<option value="30d" selected>' in page
    assert client.get("/dashboard/surveys/nope").status_code == 404
    fragment = client.get("/dashboard/surveys/survey_renewal", headers={"HX-Request": "true"}).text
    assert fragment.lstrip().startswith('<div id="results"')
