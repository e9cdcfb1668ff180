"""The survey one question per step: progress, Back and Next, answers saved as the customer goes and
resumed from the link, show_if, piping, one-click answers from e-mails, languages, framing and weight."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests import factories as f
from voc.db import utcnow
from voc.embed.models import Site
from voc.surveys.models import Answer, Invitation, PartialResponse, Response

QUESTIONS = [
    {"id": "nps", "type": "nps", "prompt": "How likely are you to recommend us?", "required": True},
    {"id": "fix", "type": "text", "prompt": "What went wrong with order {{ order_id }}?",
     "show_if": {"question_id": "nps", "op": "lte", "value": 6}},
    {"id": "why", "type": "text", "prompt": "Anything else, {{ first_name | dear customer }}?"},
    {"id": "channel", "type": "single_choice", "prompt": "How did you order?", "options": ["Web", "Phone"],
     "required": True},
    {"id": "plan", "type": "single_choice", "prompt": "Which plan?", "options": ["Basic", "Plus"],
     "attribute": "plan"},
]
GERMAN = {"title": "Wie war es?", "thank_you": "Danke schön!",
          "questions": {"nps": {"prompt": "Wie wahrscheinlich empfehlen Sie uns?"},
                        "channel": {"prompt": "Wie haben Sie bestellt?", "options": ["Im Netz", "Telefon"]}}}


def make_link(session, questions=None, event_attributes=None, contact=None, **survey):
    f.touchpoint(session)
    f.survey(session, questions=questions or QUESTIONS, thank_you="Thanks, we read every answer.",
             translations={"de": GERMAN}, **survey)
    outcome = f.event(session, contact_fields={"attributes": contact or {"plan": "Plus"}},
                      attributes=event_attributes if event_attributes is not None else {"order_id": "A-17"})
    session.commit()
    return "/s/" + f.token_of(outcome.invitation.url)


@pytest.fixture
def link(session):
    return make_link(session)


def partial(session) -> PartialResponse | None:
    session.rollback()  # a fresh read: not the snapshot of an earlier one
    return session.scalars(select(PartialResponse)).first()


def progress(html: str) -> tuple[str, str]:
    match = re.search(r'<progress max="(\d+)" value="(\d+)"', html)
    assert match, "no progress bar"
    return match.group(2), match.group(1)


def test_the_first_step_asks_one_question_with_its_progress(client, link, session):
    page = client.get(link)
    assert page.status_code == 200
    # Fix may still come (it waits on the score), plan is known: at most 4 questions, so the bar shows 1 of 4.
    assert "Question 1<" in page.text and progress(page.text) == ("25", "100")
    assert 'name="step" value="nps"' in page.text and len(re.findall(r'name="q_nps"', page.text)) == 11
    assert "Anything else" not in page.text and "How did you order?" not in page.text
    assert '<html lang="en">' in page.text
    assert 'value="back"' not in page.text and ">Next</button>" in page.text
    assert partial(session) is None  # opening is not starting


def test_a_required_step_cannot_be_left_empty(client, link, session):
    page = client.post(link, data={"step": "nps", "action": "next"})
    assert page.status_code == 422
    assert "Please answer this question." in page.text and 'aria-describedby="err-nps"' in page.text
    assert 'href="#q-nps"' in page.text and "Question 1<" in page.text
    assert partial(session) is None
    out_of_range = client.post(link, data={"step": "nps", "q_nps": "11", "action": "next"})
    assert out_of_range.status_code == 422 and "Please choose one of the points on the scale." in out_of_range.text


def test_answers_are_saved_at_every_step_and_show_if_follows_them(client, link, session):
    low = client.post(link, data={"step": "nps", "q_nps": "3", "action": "next"})
    assert low.status_code == 200
    assert "What went wrong with order A-17?" in low.text and "Question 2<" in low.text  # fix shows now
    assert progress(low.text) == ("50", "100")
    assert 'value="back"' in low.text and "autofocus" in low.text
    saved = partial(session)
    assert saved.answers == {"nps": 3} and saved.last_question_id == "nps" and saved.completed_at is None

    back = client.post(link, data={"step": "fix", "q_fix": "Late", "action": "back"})
    assert "Question 1<" in back.text and re.search(r'value="3"\s+checked', back.text)
    assert partial(session).answers == {"nps": 3, "fix": "Late"}  # going back keeps what was typed

    high = client.post(link, data={"step": "nps", "q_nps": "9", "action": "next"})
    assert "Anything else, dear customer?" in high.text and "Question 2<" in high.text  # fix is skipped
    assert progress(high.text) == ("67", "100")  # one question fewer to come: the bar jumps ahead, never back
    assert "{{" not in high.text


def step_number(html: str) -> int:
    match = re.search(r'id="progress-label">\w+ (\d+)</p>', html)
    assert match, "no progress label"
    return int(match.group(1))


@pytest.mark.parametrize(("score", "steps"), [(3, ["nps", "fix", "why", "channel"]), (9, ["nps", "why", "channel"])])
def test_question_k_and_the_bar_only_go_forward_along_a_branching_path(client, link, score, steps):
    answers = {"nps": str(score), "fix": "Late", "why": "", "channel": "Web"}
    page, seen = client.get(link), []
    for number, step in enumerate(steps, start=1):
        assert f'name="step" value="{step}"' in page.text
        seen.append((step_number(page.text), int(progress(page.text)[0])))
        assert seen[-1][0] == number and f'id="progress-label">Question {number}</p>' in page.text
        page = client.post(link, data={"step": step, f"q_{step}": answers[step], "action": "next"})
    assert "Thanks, we read every answer." in page.text
    assert [k for k, _ in seen] == sorted(k for k, _ in seen) and [b for _, b in seen] == sorted(b for _, b in seen)
    assert seen[-1][1] == 100  # the last step fills the bar


def test_closing_the_tab_and_opening_the_link_again_resumes(client, link, session):
    client.post(link, data={"step": "nps", "q_nps": "9", "action": "next"})
    client.post(link, data={"step": "why", "q_why": "", "action": "next"})  # optional: skipped
    again = client.get(link)
    assert "How did you order?" in again.text and "Question 3<" in again.text and ">Send</button>" in again.text
    assert partial(session).answers == {"nps": 9, "why": None}
    back = client.post(link, data={"step": "channel", "action": "back"})
    assert "Anything else" in back.text


def test_the_last_step_completes_one_response_from_the_saved_answers(client, link, session):
    client.post(link, data={"step": "nps", "q_nps": "4", "action": "next"})
    client.post(link, data={"step": "fix", "q_fix": "Box was <b>crushed</b>", "action": "next"})
    client.post(link, data={"step": "why", "q_why": "", "action": "next"})
    done = client.post(link, data={"step": "channel", "q_channel": "Phone", "action": "next"})
    assert done.status_code == 200 and "Thanks, we read every answer." in done.text
    response = session.scalars(select(Response)).one()
    answers = {a.question_id: a.value for a in session.scalars(select(Answer))}
    assert (response.nps, response.comment) == (4, "Box was <b>crushed</b>")
    assert answers == {"nps": 4, "fix": "Box was <b>crushed</b>", "channel": ["Phone"], "plan": "Plus"}
    assert partial(session).completed_at is not None
    assert client.get(link).status_code == 409
    late = client.post(link, data={"step": "channel", "q_channel": "Web", "action": "next"})
    assert late.status_code == 409 and session.scalar(select(Response.id).where(Response.id != response.id)) is None
    swapped = client.post(link, data={"step": "channel", "q_channel": "Web"}, headers={"HX-Request": "true"})
    assert swapped.status_code == 200 and "Already answered" in swapped.text  # htmx swaps only 2xx answers


def test_a_stale_step_goes_on_from_where_the_answers_are(client, link, session):
    client.post(link, data={"step": "nps", "q_nps": "9", "action": "next"})
    stale = client.post(link, data={"step": "fix", "q_fix": "never asked", "action": "next"})
    assert "Anything else" in stale.text and "fix" not in partial(session).answers


def test_htmx_gets_the_next_step_as_a_fragment(client, link):
    fragment = client.post(link, data={"step": "nps", "q_nps": "10", "action": "next"}, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<main class="survey-card" id="survey">') and "<html" not in fragment.text
    assert 'id="step-heading"' in fragment.text and "autofocus" in fragment.text
    refused = client.post(link, data={"step": "why", "q_why": "x" * 10_001, "action": "next"},
                          headers={"HX-Request": "true"})
    assert refused.status_code == 200 and 'role="alert"' in refused.text  # htmx swaps only 2xx answers


def test_one_click_answers_from_an_email(client, link, session):
    page = client.get(link + "?q=nps&v=10")  # a mail scanner fetches this too: nothing is stored
    assert page.status_code == 200 and "Question 1<" in page.text
    assert re.search(r'value="10"\s+checked', page.text) and "data-voc-autosubmit" in page.text
    assert partial(session) is None
    assert session.scalars(select(Invitation)).one().opened_at is not None  # the page was shown
    sent = f.one_click(client, link, "nps", 10)  # the page's script sends the step
    assert "Anything else" in sent.text and "Question 2<" in sent.text
    assert partial(session).answers == {"nps": 10}
    wrong = client.get(link + "?q=nps&v=99")  # not on the scale: the step shows, nothing selected or sent
    assert "Question 1<" in wrong.text and 'role="alert"' not in wrong.text
    assert "data-voc-autosubmit" not in wrong.text and re.search(r'value="10"\s+checked', wrong.text)  # as saved
    assert partial(session).answers == {"nps": 10}
    assert "Anything else" in client.get(link + "?q=ghost&v=1").text
    assert "Anything else" in client.get(link + "?q=plan&v=Basic").text  # the CRM's answer is not asked
    assert partial(session).answers == {"nps": 10}


def test_a_one_click_link_after_completion_is_refused(client, link, session):
    f.one_click(client, link, "nps", 10)
    client.post(link, data={"step": "why", "action": "next"})
    client.post(link, data={"step": "channel", "q_channel": "Web", "action": "next"})
    assert session.scalars(select(Response)).one().nps == 10
    assert client.get(link + "?q=nps&v=0").status_code == 409
    assert session.scalars(select(Response)).one().nps == 10


def test_lang_picks_the_language_and_is_remembered(client, link, session):
    page = client.get(link + "?lang=de")
    assert '<html lang="de">' in page.text and "Frage 1<" in page.text and ">Weiter</button>" in page.text
    assert "Wie wahrscheinlich empfehlen Sie uns?" in page.text and "<title>Wie war es?</title>" in page.text
    assert "0 · Sehr unwahrscheinlich" in page.text
    assert partial(session).language == "de"
    later = client.get(link)  # the same link, without ?lang
    assert '<html lang="de">' in later.text
    client.post(link, data={"step": "nps", "q_nps": "9", "action": "next"})
    step = client.post(link, data={"step": "why", "action": "next"})
    assert 'value="Web"' in step.text and "Im Netz" in step.text  # the label is translated, the value is not
    refused = client.post(link, data={"step": "channel", "action": "next"})
    assert "Bitte beantworten Sie diese Frage." in refused.text and "Bitte prüfen Sie 1 Antwort" in refused.text
    done = client.post(link, data={"step": "channel", "q_channel": "Web", "action": "next"})
    assert "Danke schön!" in done.text and "Vielen Dank" in done.text
    session.rollback()
    assert session.scalars(select(Answer).where(Answer.question_id == "channel")).one().choices == ["Web"]


def test_accept_language_chooses_among_the_survey_s_languages(client, link):
    for header, expected in [("fr-CH, fr;q=0.9, de;q=0.8, en;q=0.5", "de"), ("de;q=0, en", "en"), ("de-AT", "de"),
                             ("ja", "en"),  # the survey is not written in Japanese: its own language
                             ("", "en")]:
        page = client.get(link, headers={"Accept-Language": header})
        assert f'<html lang="{expected}">' in page.text, header


def test_a_survey_written_in_german_defaults_to_german(client, session):
    link = make_link(session, language="de")
    page = client.get(link, headers={"Accept-Language": "ja"})
    assert '<html lang="de">' in page.text and "Frage 1<" in page.text


def test_problem_pages_speak_the_customer_s_language(client):
    page = client.get("/s/unknown-token", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert page.status_code == 404 and "Link nicht gefunden" in page.text and '<html lang="de">' in page.text
    assert "Link not found" in client.get("/s/unknown-token?lang=en").text


def test_piped_values_are_escaped_and_missing_ones_never_show_braces(client, session):
    link = make_link(session, event_attributes={"order_id": "<script>alert(1)</script>"},
                     contact={"plan": "Plus", "first_name": "<b>Ann</b>"})
    fix = client.post(link, data={"step": "nps", "q_nps": "2", "action": "next"})
    assert "What went wrong with order &lt;script&gt;alert(1)&lt;/script&gt;?" in fix.text
    assert "<script>alert(1)" not in fix.text
    why = client.post(link, data={"step": "fix", "action": "next"})
    assert "Anything else, &lt;b&gt;Ann&lt;/b&gt;?" in why.text


def test_a_missing_attribute_leaves_no_braces(client, session):
    link = make_link(session, event_attributes={})
    fix = client.post(link, data={"step": "nps", "q_nps": "2", "action": "next"})
    assert "What went wrong with order?" in fix.text and "{{" not in fix.text and "}}" not in fix.text


def test_the_page_layout_asks_everything_at_once_with_the_one_click_answer_selected(client, session):
    link = make_link(session, layout="page")
    page = client.get(link + "?q=nps&v=8")
    assert 'name="step"' not in page.text and "How did you order?" in page.text and "<progress" not in page.text
    assert re.search(r'value="8"\s+checked', page.text) and "data-voc-autosubmit" not in page.text
    done = client.post(link, data={"q_nps": "8", "q_channel": "Web"})  # the selected score goes with the form
    assert done.status_code == 200 and "Thanks, we read every answer." in done.text
    assert session.scalars(select(Response)).one().nps == 8


def test_an_embedded_invitation_may_be_framed_by_its_site_only(client, link, session):
    assert "frame-ancestors 'none'" in client.get(link).headers["content-security-policy"]
    site = Site(key="shop", name="Shop", secret_sealed="sealed", allowed_origins=["https://shop.example"])
    session.add(site)
    session.flush()
    invitation = session.scalars(select(Invitation)).one()
    invitation.site_id = site.id
    session.add(invitation)
    session.commit()
    page = client.get(link)
    assert "frame-ancestors https://shop.example" in page.headers["content-security-policy"]
    assert "x-frame-options" not in page.headers
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    session.add(invitation)
    session.commit()
    expired = client.get(link)  # the widget shows the problem page too
    assert expired.status_code == 410 and "frame-ancestors https://shop.example" in expired.headers[
        "content-security-policy"]


def test_the_page_without_htmx_weighs_under_50_kb(client, link):
    """The survey page and the stylesheets and scripts it loads from voc itself (htmx excluded)."""
    page = client.get(link)
    assets = re.findall(r'<(?:link rel="stylesheet" href|script src)="([^"]+)"', page.text)
    own = [url for url in assets if url.startswith(("/", "http://testserver/")) and "htmx" not in url]
    assert any(u.endswith(".css") for u in own) and any(u.endswith(".js") for u in own)
    sizes = {url: len(client.get(url).content) for url in own}
    assert all(size > 0 for size in sizes.values())
    total = len(page.content) + sum(sizes.values())
    assert total < 50_000, (total, sizes)
