"""Test invitations from the dashboard: their answers are marked and left out of every figure, and they set
off nothing a real answer does (follow-up, webhook, quarantine)."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from tests import factories as f
from voc.analytics import service as analytics
from voc.analytics.choices import choice_charts
from voc.analytics.key_drivers import key_drivers
from voc.analytics.models import Rollup
from voc.analytics.rollups import rebuild_rollups
from voc.analytics.touchpoints import dimension_sums, experience, touchpoint_stops
from voc.config import get_settings
from voc.errors import Conflict
from voc.explore.export import csv_chunks
from voc.explore.service import ResponseFilters, list_responses
from voc.followups.models import Followup
from voc.followups.rules import followup_reason
from voc.sentiment.reports import theme_report
from voc.surveys import trial
from voc.surveys.events import invitation_url, is_quarantined
from voc.surveys.funnel import survey_funnel
from voc.surveys.models import Contact, Invitation, Response, Survey
from voc.surveys.responses import store_response
from voc.webhooks.endpoints import create_endpoint
from voc.webhooks.models import WebhookMessage
from voc.webhooks.schemas import EndpointCreate

QUESTIONS = [
    {"id": "nps", "type": "nps", "prompt": "Hi {{ first_name }}, how likely are you to recommend us?",
     "required": True},
    {"id": "why", "type": "text", "prompt": "Why?"},
    {"id": "plan", "type": "single_choice", "prompt": "Your plan?", "options": ["Basic", "Pro"]},
]
REAL = [("nps", 10), ("why", "Wonderful fast delivery and friendly helpful staff."), ("plan", "Basic")]
TEST = [("nps", 0), ("why", "Terrible broken package, rude courier, awful refund process."), ("plan", "Pro")]


@pytest.fixture
def answered(engine, run_jobs, monkeypatch):
    """One real response (NPS 10, happy) and one test response (NPS 0, furious) to the same survey and
    touchpoint, every job run, and a webhook endpoint (on loopback, nobody listening) for every event."""
    monkeypatch.setenv("VOC_WEBHOOK_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()
    with Session(engine, expire_on_commit=False) as session:
        f.touchpoint(session)
        survey = f.survey(session, questions=QUESTIONS)
        create_endpoint(session, EndpointCreate(url="http://127.0.0.1:9/hooks/voc", event_types=[
            "invitation.created", "response.completed", "response.analyzed", "contact.experience_updated",
            "followup.created"]))
        real_url = f.event(session, "evt-real", contact="crm-real").invitation.url
        test_invitation = trial.create_test_invitation(session, survey, "Tester@Example.com")
        store_response(session, f.token_of(real_url), REAL)
        store_response(session, f.token_of(invitation_url(test_invitation)), TEST)
        session.commit()
    run_jobs()
    with Session(engine) as session:
        rows = {r.is_test: r.id for r in session.scalars(select(Response))}
    return {"real": rows[False], "test": rows[True]}


def _filters(session):  # noqa: ANN001, ANN202
    return analytics.resolve_filters(session, None, None, "30d")


def test_every_figure_counts_the_real_response_only(engine, answered):
    with Session(engine) as session:
        view = _filters(session)
        overview = analytics.overview(session, view)
        nps = next(card["metric"] for card in overview["cards"] if card["name"] == "nps")
        assert (nps.n, nps.value) == (1, 100)  # with the test answer: n 2, NPS 0
        assert (overview["invitations"], overview["responses"]) == (1, 1)
        assert overview["sentiment_n"] == 1

        [stop] = touchpoint_stops(session, view)  # journey
        assert stop.responses == 1 and stop.measures["nps"].value == 100
        [row] = experience(session, view)["rows"]  # heatmap
        assert row["responses"] == 1
        assert all(sums.n <= 1 for sums in dimension_sums(session, view).values())

        themes = theme_report(session, since=view.start, until=view.end)
        assert themes.comments == 1
        assert not {"refund", "courier", "package"} & {t.theme for t in themes.themes}

        drivers = key_drivers(session, view, "nps")
        assert drivers.n == 1 and drivers.mean == 100

        [chart] = choice_charts(session, view)
        assert {bar.label: bar.count for bar in chart.bars} in ({"Basic": 1, "Pro": 0}, {"Basic": 1})

        survey = session.scalars(select(Survey)).one()
        funnel = survey_funnel(session, survey)
        assert (funnel.opened, funnel.started, funnel.completed) == (1, 1, 1)

        # Counted again from scratch: the same.
        rebuild_rollups(session)
        assert session.scalar(select(func.sum(Rollup.responses))) == 1
        assert session.scalar(select(func.sum(Rollup.invitations))) == 1

        explorer = list_responses(session, ResponseFilters(period="30d"))
        assert [r.id for r in explorer.items] == [answered["real"]] and explorer.total == 1
        tests_only = list_responses(session, ResponseFilters(period="30d", test=True))
        assert [r.id for r in tests_only.items] == [answered["test"]]

    lines = list(csv.reader(io.StringIO("".join(csv_chunks(engine, ResponseFilters(period="30d"))))))
    assert [int(line[0]) for line in lines[1:]] == [answered["real"]]


def test_the_api_figures_and_lists_leave_test_responses_out(client, admin_headers, answered):
    metrics = client.get("/api/v1/metrics", headers=admin_headers).json()
    assert metrics["nps"]["n"] == 1 and metrics["nps"]["value"] == 100
    themes = client.get("/api/v1/themes", headers=admin_headers).json()
    assert not {"refund", "courier", "package"} & {t["theme"] for t in themes}
    listed = client.get("/api/v1/responses", headers=admin_headers).json()["items"]
    assert [r["id"] for r in listed] == [answered["real"]] and listed[0]["is_test"] is False
    tests_only = client.get("/api/v1/responses", params={"test": "true"}, headers=admin_headers).json()["items"]
    assert [r["id"] for r in tests_only] == [answered["test"]] and tests_only[0]["is_test"] is True


def test_a_test_response_opens_no_follow_up_and_sends_no_webhook(engine, answered):
    with Session(engine) as session:
        test = session.get(Response, answered["test"])
        assert test.is_test and test.analysis is not None  # read, for the explorer's test filter
        assert followup_reason(test) is not None  # a real NPS 0 would open a case …
        assert session.scalars(select(Followup)).all() == []  # … this one did not
        messages = session.scalars(select(WebhookMessage)).all()
        assert messages, "the real response was announced"
        about = {m.payload["data"].get("response", {}).get("id") or m.payload["data"].get("response_id")
                 for m in messages}
        assert str(answered["test"]) not in about and str(answered["real"]) in about
        tester = session.scalars(select(Contact).where(Contact.crm == trial.TEST_CRM)).one()
        assert tester.external_id == "tester@example.com"
        assert not any((m.payload["data"].get("contact") or {}).get("crm") == trial.TEST_CRM for m in messages)


def test_a_test_invitation_quarantines_nobody(engine):
    with Session(engine, expire_on_commit=False) as session:
        f.touchpoint(session)
        survey = f.survey(session, recontact_days=30)
        real = f.event(session, "evt-1", contact="crm-1")
        contact = session.scalars(select(Contact).where(Contact.external_id == "crm-1")).one()
        invitation = session.get(Invitation, real.invitation.id)
        assert is_quarantined(session, contact, survey, invitation.invited_at)
        invitation.is_test = True  # the same invitation, had it been a test one
        session.flush()
        assert not is_quarantined(session, contact, survey, invitation.invited_at)


def test_a_test_link_works_once_and_only_for_an_active_survey(engine):
    with Session(engine, expire_on_commit=False) as session:
        f.touchpoint(session)
        survey = f.survey(session)
        invitation = trial.create_test_invitation(session, survey, "qa@example.com")
        token = f.token_of(invitation_url(invitation))
        store_response(session, token, [("nps", 8)])
        with pytest.raises(Conflict) as refused:
            store_response(session, token, [("nps", 9)])
        assert refused.value.code == "already_answered"
        draft = f.survey(session, "draft_one", status="draft")
        with pytest.raises(Conflict) as inactive:
            trial.create_test_invitation(session, draft, "qa@example.com")
        assert inactive.value.code == "survey_inactive"


def test_sample_attributes_fill_every_placeholder():
    texts = trial.survey_texts("Thanks {{ first_name }}", [{"prompt": "Order {{ order_id }} at {{ contact.shop }}?"}])
    assert trial.sample_attributes(texts) == {"first_name": "Alex", "order_id": "A-1024", "shop": "[shop]"}
