"""Surveys go live from the dashboard: the shared-touchpoint warning, the test link and test e-mail once a
survey is active, the translation editor, and a preview that shows the questions before any click."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlmodel import Session

from tests import factories as f
from tests.conftest import csrf_of
from tests.email.conftest import SmtpServer, free_port, point_voc_at
from voc.surveys.models import Event, Invitation, Response, Survey

QUESTIONS = [
    {"id": "nps", "type": "nps", "prompt": "Hi {{ first_name }}, would you recommend us?", "required": True},
    {"id": "plan", "type": "single_choice", "prompt": "Which plan?", "options": ["Basic", "Pro"]},
    {"id": "why", "type": "text", "prompt": "Anything else?"},
]


def _surveys(engine, *specs: tuple[str, str, str]) -> None:
    """Touchpoints order_delivered and ticket_closed, and surveys (key, title, status) on order_delivered."""
    with Session(engine) as session:
        f.touchpoint(session, name="Order delivered")
        f.touchpoint(session, "ticket_closed", stage="support", name="Ticket closed")
        for key, title, status in specs:
            f.survey(session, key, title=title, status=status, questions=QUESTIONS)
        session.commit()


def _text(page) -> str:  # noqa: ANN001
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())
    return re.sub(r" ([,.:;?])", r"\1", words)


# --- which survey a contact gets ------------------------------------------------------------------------

def test_two_active_surveys_on_one_touchpoint_are_named_with_the_one_a_contact_gets(client, engine, login):
    # The older survey (created first) is activated last: age, not activation order, decides.
    _surveys(engine, ("older", "Delivery check", "draft"), ("newer", "Parcel pulse", "active"))
    with Session(engine) as session:
        f.survey(session, "support", title="Support survey", touchpoint="ticket_closed")
        session.commit()
    csrf = login("admin")
    assert "shared by active surveys" not in client.get("/dashboard/surveys").text
    client.post("/dashboard/surveys/older/status", data={"status": "active", "csrf_token": csrf})

    listing = _text(client.get("/dashboard/surveys"))
    assert "1 touchpoint shared by active surveys" in listing
    assert "Order delivered" in listing and "“Delivery check”, “Parcel pulse”" in listing
    assert "A contact gets “Delivery check”, the oldest of them" in listing
    assert "“Parcel pulse” only invites contacts that “Delivery check” passes over" in listing
    editor = _text(client.get("/dashboard/surveys/newer/edit"))
    assert "A contact gets “Delivery check”" in editor

    with Session(engine) as session:  # what the warning says is what happens
        for n in range(5):
            outcome = f.event(session, f"evt-{n}", contact=f"crm-{n}")
            assert outcome.outcome == "invited" and outcome.survey == "older"
        session.commit()
    assert "shared by active surveys" not in client.get("/dashboard/surveys/support").text
    client.post("/dashboard/surveys/older/status", data={"status": "paused", "csrf_token": csrf})
    assert "shared by active surveys" not in client.get("/dashboard/surveys").text
    draft = _text(client.get("/dashboard/surveys/older"))  # paused: warned of what activating would do
    assert "“Delivery check” (when activated), “Parcel pulse”" in draft


# --- test link and test invitation --------------------------------------------------------------------

def test_activating_opens_the_survey_page_on_a_test_link_whose_answer_counts_nowhere(client, engine, login,
                                                                                     run_jobs):
    _surveys(engine, ("post_delivery", "How did we do?", "draft"))
    csrf = login("admin")
    survey_page = client.get("/dashboard/surveys/post_delivery")
    assert "Once the survey is active you get a test link" in survey_page.text
    activated = client.post("/dashboard/surveys/post_delivery/status", data={"status": "active", "csrf_token": csrf},
                            follow_redirects=False)
    assert activated.status_code == 303
    assert activated.headers["location"].endswith("/dashboard/surveys/post_delivery?activated=1#try-it")
    page = client.get(activated.headers["location"])
    link = re.search(r'id="test-link"[^>]*value="([^"]+)"', page.text).group(1)
    assert link.startswith("http://testserver/s/") and "is live" in page.text
    assert "Send me a test invitation" in page.text

    survey = client.get(link.removeprefix("http://testserver"))
    assert survey.status_code == 200 and "Hi Alex, would you recommend us?" in survey.text  # sample data piped
    sent = client.post(link.removeprefix("http://testserver"),
                       data={"step": "nps", "q_nps": "0", "action": "next"})
    assert sent.status_code == 200
    with Session(engine) as session:
        invitation = session.scalars(select(Invitation)).one()
        assert invitation.is_test and invitation.channel == "link"
    for step, value in (("plan", "Pro"), ("why", "Awful.")):
        client.post(link.removeprefix("http://testserver"), data={"step": step, f"q_{step}": value, "action": "next"})
    run_jobs()
    with Session(engine) as session:
        assert session.scalars(select(Response)).one().is_test
    overview = _text(client.get("/dashboard"))
    assert "0 responses to 0 invitations" in overview
    assert '<td class="num">0</td>' in client.get("/dashboard/surveys").text  # the list's response count
    explorer = _text(client.get("/dashboard/responses", params={"period": "30d"}))
    assert "0 responses match" in explorer
    tests_only = _text(client.get("/dashboard/responses", params={"period": "30d", "test": "1"}))
    assert "1 response match" in tests_only and "Showing test responses only" in tests_only
    assert "Test response" in tests_only

    again = client.get(link.removeprefix("http://testserver"))
    assert "already been answered" in again.text  # single use
    fresh = client.post("/dashboard/surveys/post_delivery/test-link", data={"csrf_token": csrf})
    assert fresh.status_code == 200 and re.search(r'id="test-link"[^>]*value="([^"]+)"', fresh.text).group(1) != link


def test_test_links_need_an_admin_csrf_and_an_active_survey(client, engine, login):
    _surveys(engine, ("post_delivery", "How did we do?", "draft"))
    csrf = login("admin")
    assert client.post("/dashboard/surveys/post_delivery/test-link").status_code == 403
    refused = client.post("/dashboard/surveys/post_delivery/test-link", data={"csrf_token": csrf})
    assert "Activate the survey before testing it" in refused.text
    with Session(engine) as session:
        assert session.scalars(select(Invitation)).all() == []
    viewer_csrf = login("viewer")
    assert client.post("/dashboard/surveys/post_delivery/test-link",
                       data={"csrf_token": viewer_csrf}).status_code == 403


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    point_voc_at(monkeypatch, server.port)
    yield server.start()
    server.stop()


def test_send_me_a_test_invitation_e_mails_the_signed_in_user(client, engine, login, run_jobs, smtp, make_user):
    _surveys(engine, ("post_delivery", "How did we do?", "active"))
    email, password = make_user("admin", email="cx.lead@example.com")
    client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_of(client.get("/login").text)})
    csrf = csrf_of(client.get("/dashboard/surveys/post_delivery").text)
    answer = client.post("/dashboard/surveys/post_delivery/test-email", data={"csrf_token": csrf},
                         follow_redirects=False)
    assert answer.status_code == 303 and "test=email" in answer.headers["location"]
    assert "A test invitation is on its way to cx.lead@example.com" in _text(client.get(answer.headers["location"]))
    run_jobs()

    [received] = smtp.handler.received
    assert received.recipients == ["cx.lead@example.com"]
    message = received.message
    assert message["Subject"] == "[Test] How did we do?"
    text = message.get_body(("plain",)).get_content()
    with Session(engine) as session:
        invitation = session.scalars(select(Invitation)).one()
        assert invitation.is_test and invitation.channel == "email" and invitation.emailed_at is not None
        assert session.scalars(select(Event)).all() == []
    token_link = re.search(r"http://testserver/s/[A-Za-z0-9_\-]+", text).group(0)
    assert f"{token_link}?q=nps&v=0" in text and "Hi Alex, would you recommend us?" in text


def test_without_a_mail_server_the_test_e_mail_says_why_and_sends_nothing(client, engine, login):
    _surveys(engine, ("post_delivery", "How did we do?", "active"))
    csrf = login("admin")
    page = client.get("/dashboard/surveys/post_delivery")
    assert re.search(r"<button type=\"submit\" disabled[^>]*>Send me a test invitation", page.text)
    answer = client.post("/dashboard/surveys/post_delivery/test-email", data={"csrf_token": csrf})
    assert "voc has no mail server" in _text(answer)
    with Session(engine) as session:
        assert session.scalars(select(Invitation).where(Invitation.channel == "email")).all() == []


# --- translations ---------------------------------------------------------------------------------------

def _german(csrf: str, **extra: str) -> dict[str, str]:
    return {"csrf_token": csrf, "title": "Wie war es?", "thank_you": "Danke!",
            "q-nps-prompt": "Hallo {{ first_name }}, würden Sie uns empfehlen?",
            "q-nps-low": "Auf keinen Fall", "q-nps-high": "Auf jeden Fall",
            "q-plan-prompt": "Welcher Tarif?", "q-plan-options": "Basis\r\nProfi", "q-why-prompt": "", **extra}


def test_the_translation_editor_puts_german_questions_on_the_hosted_page(client, engine, login):
    _surveys(engine, ("post_delivery", "How did we do?", "active"))
    csrf = login("admin")
    survey_page = client.get("/dashboard/surveys/post_delivery")
    assert '/dashboard/surveys/post_delivery/translations/de">de (not yet)' in survey_page.text
    form = client.get("/dashboard/surveys/post_delivery/translations/de")
    assert form.status_code == 200 and 'name="q-plan-options"' in form.text and 'name="q-nps-low"' in form.text
    assert 'name="q-plan-low"' not in form.text  # a choice question has no end labels
    assert client.post("/dashboard/surveys/post_delivery/translations/de", data=_german("")).status_code == 403
    assert client.get("/dashboard/surveys/post_delivery/translations/xx").status_code == 404

    wrong = client.post("/dashboard/surveys/post_delivery/translations/de", data=_german(csrf, **{
        "q-plan-options": "Nur eine", "q-nps-high": ""}))
    assert wrong.status_code == 422 and "Give all 2 choices" in wrong.text and "Give both end labels" in wrong.text
    with Session(engine) as session:
        assert session.scalars(select(Survey)).one().translations == {}

    saved = client.post("/dashboard/surveys/post_delivery/translations/de", data=_german(csrf), follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"].endswith("/translations/de?saved=1")
    assert "Saved the de texts" in _text(client.get(saved.headers["location"]))
    with Session(engine) as session:
        survey = session.scalars(select(Survey)).one()
        assert survey.version == 2 and survey.translations["de"]["questions"]["plan"]["options"] == ["Basis", "Profi"]
        url = f.event(session, "evt-de", contact_fields={"attributes": {"first_name": "Jonas"}}).invitation.url
        session.commit()
    path = url.removeprefix("http://testserver")

    german = _text(client.get(path, params={"lang": "de"}))
    assert "Hallo Jonas, würden Sie uns empfehlen?" in german and "Wie war es?" in german
    assert "Auf keinen Fall" in german and "Auf jeden Fall" in german
    client.post(path, data={"step": "nps", "q_nps": "9", "action": "next"})
    plan = client.get(path, headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert "Welcher Tarif?" in _text(plan) and re.search(r'value="Basic"\s*> Basis</label>', plan.text)
    client.post(path, data={"step": "plan", "q_plan": "Basic", "action": "next"})
    assert "Anything else?" in _text(client.get(path, params={"lang": "de"}))  # not translated: falls back

    english = _text(client.get(path, params={"lang": "en"}))
    assert "Anything else?" in english


# --- previews -------------------------------------------------------------------------------------------

def test_the_new_survey_preview_shows_the_first_question_before_any_click(client, engine, login):
    _surveys(engine)
    login("admin")
    page = client.get("/dashboard/surveys/new")
    frame = re.search(r'<iframe id="survey-preview"[^>]*srcdoc="([^"]*)"', page.text, re.S)
    assert frame, "the preview frame has content from the start"
    inside = html.unescape(frame.group(1))
    assert "How likely are you to recommend us to a friend or colleague?" in inside and 'name="q_nps"' in inside
    assert "<script" not in inside


def test_the_editor_preview_pipes_sample_attributes_labelled_as_sample_data(client, engine, login):
    _surveys(engine, ("post_delivery", "How did we do?", "active"))
    csrf = login("admin")
    editor = client.get("/dashboard/surveys/post_delivery/edit")
    inside = html.unescape(re.search(r'srcdoc="([^"]*)"', editor.text, re.S).group(1))
    assert "Hi Alex, would you recommend us?" in inside and "Sample data: first_name = “Alex”" in inside
    assert "{{" not in inside
    assert "Sample data piped into the placeholders" in _text(editor)

    form = {"csrf_token": csrf, "title": "Order {{ order_id }}", "thank_you": "", "recontact_days": "30",
            "q-0-id": "q1", "q-0-type": "text", "q-0-prompt": "Dear {{ contact.first_name }}, what about {{ shop }}?"}
    draft = client.post("/dashboard/surveys/preview", data=form)
    text = _text(draft)
    assert "Order A-1024" in text and "Dear Alex, what about [shop]?" in text
    assert "Sample data: order_id = “A-1024”, first_name = “Alex”, shop = “[shop]”" in text
