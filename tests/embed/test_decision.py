"""The widget's decision: identity by signature, anonymous surveys, the fatigue rules of events,
reuse of an open invitation, and CORS only for the site's allowed origins."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from tests import factories as f
from tests.aio import run_in_threads
from tests.embed.conftest import ORIGIN, OTHER_ORIGIN, EmbedSite
from voc.embed.decision import ANONYMOUS_CRM
from voc.surveys.models import Contact, Invitation, Response, Survey
from voc.surveys.triggers import contact_sample_key, in_sample


def _count(engine, model) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def _invitations(engine) -> list[tuple[Invitation, Contact]]:
    with Session(engine) as session:
        rows = session.execute(select(Invitation, Contact).join(Contact, Contact.id == Invitation.contact_id)
                               .order_by(Invitation.id))
        return [(invitation, contact) for invitation, contact in rows]


def test_a_signed_contact_is_shown_the_survey_and_answers_as_itself(client, engine, site, embed_survey, ask) -> None:
    embed_survey()
    answer = ask(survey="widget", contact="crm-1", signature=site.sign("crm-1"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["show"] is True and body["reason"] is None and body["survey"] == "widget"
    assert body["title"] == "How did we do?" and body["url"].startswith("http://testserver/s/")
    assert body["anonymous_id"] is None
    [(invitation, contact)] = _invitations(engine)
    assert (contact.crm, contact.external_id) == ("default", "crm-1")
    assert invitation.channel == "embed" and invitation.site_id is not None and invitation.event_id is None
    assert invitation.touchpoint_id is not None and invitation.status == "pending"
    # Upper-case hex is the same signature.
    assert ask(survey="widget", contact="crm-1", signature=site.sign("crm-1").upper()).json()["url"] == body["url"]

    stored = client.post("/api/v1/responses", json={"token": body["url"].rsplit("/", 1)[-1],
                                                    "answers": [{"question_id": "nps", "value": 9}]})
    assert stored.status_code == 201, stored.text
    with Session(engine) as session:
        response = session.scalars(select(Response)).one()
        assert session.get(Contact, response.contact_id).external_id == "crm-1"


def test_a_wrong_signature_shows_nothing_and_stores_nothing(engine, site, embed_survey, ask) -> None:
    embed_survey(anonymous=True)  # not even an anonymous survey shows with a wrong signature
    wrong = [
        {"contact": "crm-1", "signature": "0" * 64},
        {"contact": "crm-1", "signature": site.sign("crm-2")},  # another contact's signature
        {"contact": "crm-1", "signature": site.sign("crm-1")[:-1]},
        {"contact": "crm-1", "signature": "not hex at all"},
        {"signature": site.sign("crm-1")},  # no contact
        {"contact": "crm-1", "signature": site.sign("crm-1") + "00"},
    ]
    for question in wrong:
        answer = ask(survey="widget", **question)
        assert answer.status_code == 200
        assert answer.json()["show"] is False and answer.json()["reason"] == "signature_invalid", question
        assert answer.json()["url"] is None
    assert _count(engine, Contact) == 0 and _count(engine, Invitation) == 0


def test_without_a_signature_only_anonymous_surveys_show(engine, site, embed_survey, ask) -> None:
    embed_survey("identified")
    embed_survey("open", anonymous=True)
    refused = ask(survey="identified", contact="crm-1")  # an unsigned contact id claims nothing
    assert (refused.json()["show"], refused.json()["reason"]) == (False, "identity_required")
    assert _count(engine, Contact) == 0 and _count(engine, Invitation) == 0

    first = ask(survey="open", contact="crm-1").json()
    assert first["show"] is True and len(first["anonymous_id"]) >= 16
    [(invitation, contact)] = _invitations(engine)
    assert (contact.crm, contact.external_id) == (ANONYMOUS_CRM, first["anonymous_id"])
    assert contact.external_id != "crm-1"

    # The same browser (it kept its id) gets the same open invitation back; a malformed id is replaced.
    again = ask(survey="open", anonymous_id=first["anonymous_id"]).json()
    assert again["url"] == first["url"] and again["anonymous_id"] == first["anonymous_id"]
    other = ask(survey="open", anonymous_id="short!").json()
    assert other["anonymous_id"] not in ("short!", first["anonymous_id"]) and other["url"] != first["url"]
    assert _count(engine, Invitation) == 2


def test_a_signed_contact_may_answer_an_anonymous_survey_as_itself(engine, site, embed_survey, ask) -> None:
    embed_survey(anonymous=True)
    assert ask(survey="widget", contact="crm-9", signature=site.sign("crm-9")).json()["show"]
    [(_, contact)] = _invitations(engine)
    assert (contact.crm, contact.external_id) == ("default", "crm-9")


def test_reload_reuses_the_open_invitation_until_it_is_answered(client, engine, site, embed_survey, ask) -> None:
    embed_survey(recontact_days=30)
    signed = {"contact": "crm-1", "signature": site.sign("crm-1")}
    first = ask(survey="widget", **signed).json()
    assert ask(survey="widget", **signed).json()["url"] == first["url"]
    assert _count(engine, Invitation) == 1
    client.post("/api/v1/responses", json={"token": first["url"].rsplit("/", 1)[-1],
                                           "answers": [{"question_id": "nps", "value": 3}]})
    after = ask(survey="widget", **signed).json()
    assert (after["show"], after["reason"]) == (False, "quarantined")


def test_an_open_invitation_from_another_site_is_not_reused(client, admin_headers, site, embed_survey, ask) -> None:
    embed_survey()
    assert ask(survey="widget", contact="crm-1", signature=site.sign("crm-1")).json()["show"]
    made = client.post("/api/v1/sites", headers=admin_headers,
                       json={"key": "blog", "name": "Blog", "allowed_origins": ["https://blog.example.com"]}).json()
    blog = EmbedSite("blog", made["secret"])
    elsewhere = ask(origin="https://blog.example.com", site_key="blog", survey="widget", contact="crm-1",
                    signature=blog.sign("crm-1")).json()
    # Framed elsewhere, the first site's invitation would be refused by frame-ancestors: quarantine holds.
    assert (elsewhere["show"], elsewhere["reason"]) == (False, "quarantined")


def test_fatigue_rules_of_events_apply(engine, site, embed_survey, ask) -> None:
    embed_survey("first")
    embed_survey("second")
    embed_survey("paused", status="paused")
    embed_survey("never", trigger={"sample_rate": 0})
    embed_survey("vip_only", trigger={"conditions": [{"attribute": "tier", "op": "eq", "value": "vip"}]})
    with Session(engine) as session:
        f.survey(session, key="link_only", touchpoint="web_visit")  # no embed trigger
        session.commit()

    def decide(survey: str, contact: str = "crm-1") -> tuple[bool, str | None]:
        body = ask(survey=survey, contact=contact, signature=site.sign(contact)).json()
        return body["show"], body["reason"]

    assert decide("paused") == (False, "no_active_survey")
    assert decide("missing") == (False, "no_active_survey")
    assert decide("link_only") == (False, "no_embed_trigger")
    assert decide("never") == (False, "sampled_out")
    assert decide("vip_only") == (False, "condition_false")
    assert _count(engine, Contact) == 0  # nothing shown, nothing stored
    assert decide("first") == (True, None)
    # The workspace cooldown spares the contact a second survey.
    assert decide("second") == (False, "quarantined")
    assert decide("second", "crm-2") == (True, None)

    with Session(engine) as session:
        vip = Contact(external_id="crm-vip", attributes={"tier": "vip"})
        opted = Contact(external_id="crm-out", opted_out=True)
        session.add_all([vip, opted])
        session.commit()
    assert decide("vip_only", "crm-vip") == (True, None)
    assert decide("first", "crm-out") == (False, "opted_out")


def test_an_invitation_from_an_event_quarantines_the_widget(engine, site, embed_survey, ask) -> None:
    embed_survey()
    with Session(engine) as session:
        f.touchpoint(session)
        f.survey(session, key="post_delivery")
        assert f.event(session, "evt-1", contact="crm-1").outcome == "invited"
        session.commit()
    body = ask(survey="widget", contact="crm-1", signature=site.sign("crm-1")).json()
    assert (body["show"], body["reason"]) == (False, "quarantined")


def test_sampling_is_stable_per_contact(engine, site, embed_survey, ask, monkeypatch) -> None:
    monkeypatch.setenv("VOC_CONTACT_COOLDOWN_DAYS", "0")
    from voc.config import get_settings

    get_settings.cache_clear()
    embed_survey(trigger={"sample_rate": 0.5}, recontact_days=0)
    contacts = [f"c{n}" for n in range(16)]
    shown = {c: ask(survey="widget", contact=c, signature=site.sign(c)).json()["show"] for c in contacts}
    assert shown == {c: in_sample(contact_sample_key("default", c), "widget", 0.5) for c in contacts}
    assert 0 < sum(shown.values()) < len(contacts)
    assert {c: ask(survey="widget", contact=c, signature=site.sign(c)).json()["show"] for c in contacts} == shown


def test_cors_answers_only_the_allowed_origins(engine, site, embed_survey, ask, client) -> None:
    embed_survey()
    signed = {"survey": "widget", "contact": "crm-1", "signature": site.sign("crm-1")}
    allowed = ask(**signed)
    assert allowed.headers["access-control-allow-origin"] == ORIGIN and "Origin" in allowed.headers["vary"]
    assert "access-control-allow-credentials" not in allowed.headers
    assert allowed.headers["cache-control"] == "no-store"
    local = ask(origin="http://localhost:3000", **signed)
    assert local.headers["access-control-allow-origin"] == "http://localhost:3000"

    for origin in (OTHER_ORIGIN, None, "null", "https://shop.example.com.evil.example", "http://shop.example.com"):
        refused = ask(origin=origin, survey="widget", contact="crm-2", signature=site.sign("crm-2"))
        assert refused.status_code == 403, origin
        assert refused.json()["error"]["code"] == "origin_not_allowed"
        assert "access-control-allow-origin" not in refused.headers
    unknown = ask(site_key="nope", **signed)
    assert unknown.status_code == 404 and "access-control-allow-origin" not in unknown.headers
    assert _count(engine, Contact) == 1  # only crm-1, from the allowed origins

    # Errors for an allowed origin stay readable to the widget.
    bad = ask(survey="Not A Key")
    assert bad.status_code == 422 and bad.headers["access-control-allow-origin"] == ORIGIN
    huge = client.post("/embed/sites/shop/decision", content="x" * 5000, headers={"Origin": ORIGIN})
    assert huge.status_code == 413 and huge.headers["access-control-allow-origin"] == ORIGIN
    not_json = client.post("/embed/sites/shop/decision", content="{", headers={"Origin": ORIGIN})
    assert not_json.status_code == 422

    preflight = client.options("/embed/sites/shop/decision", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == ORIGIN
    assert preflight.headers["access-control-allow-methods"] == "POST"
    denied = client.options("/embed/sites/shop/decision", headers={"Origin": OTHER_ORIGIN,
                                                                    "Access-Control-Request-Method": "POST"})
    assert denied.status_code == 403 and "access-control-allow-origin" not in denied.headers

    # JSON sent as application/json works as well as the loader's text/plain.
    as_json = client.post("/embed/sites/shop/decision", json=signed, headers={"Origin": ORIGIN})
    assert as_json.status_code == 200 and as_json.json()["show"]


def test_the_trigger_delay_does_not_hold_back_the_widget(engine, site, embed_survey, ask) -> None:
    """The visitor is on the page now; the survey's trigger itself is left as it was."""
    embed_survey(trigger={"delay_minutes": 60})
    assert ask(survey="widget", contact="crm-1", signature=site.sign("crm-1")).json()["show"]
    with Session(engine) as session:
        survey = session.scalar(select(Survey).where(Survey.key == "widget"))
        assert survey.triggers[0]["delay_minutes"] == 60
    [(invitation, _)] = _invitations(engine)
    assert invitation.status == "pending"  # usable now: the visitor is on the page


def test_an_embed_invitation_from_an_event_waits_for_the_widget(engine, site, embed_survey, ask) -> None:
    embed_survey()
    with Session(engine) as session:
        outcome = f.event(session, "evt-1", touchpoint="web_visit", contact="crm-1")
        session.commit()
    assert outcome.outcome == "invited"
    body = ask(survey="widget", contact="crm-1", signature=site.sign("crm-1")).json()
    assert body["show"] and body["url"] == outcome.invitation.url
    [(invitation, _)] = _invitations(engine)
    assert invitation.channel == "embed" and invitation.site_id is not None and invitation.event_id is not None


@pytest.mark.parametrize("known", [False, True], ids=["new contact", "known contact"])
def test_simultaneous_first_visits_of_one_contact_make_one_invitation(engine, site, embed_survey, known) -> None:
    """Two tabs (or a double-loaded page) ask at the same moment: one invitation, shown in both."""
    import threading

    from voc.embed import sites
    from voc.embed.decision import decide_for_widget
    from voc.embed.schemas import DecisionIn
    from voc.surveys import service
    from voc.surveys.schemas import ContactRef

    embed_survey()
    if known:
        with Session(engine) as session:
            service.upsert_contact(session, ContactRef(external_id="crm-9"))
            session.commit()
    question = DecisionIn(survey="widget", contact="crm-9", signature=site.sign("crm-9"))
    with Session(engine, expire_on_commit=False) as session:
        shop = sites.find_site(session, site.key)
    # Nothing is read before the barrier: on SQLite the first read would take the write lock and keep the
    # other threads from ever reaching it.
    barrier, urls = threading.Barrier(3, timeout=30), []

    def visit() -> None:
        barrier.wait()
        with Session(engine) as session:
            urls.append(decide_for_widget(session, shop, question).url)
            session.commit()

    run_in_threads(visit, [()] * 3)
    assert len(urls) == 3 and urls[0] is not None and len(set(urls)) == 1
    assert _count(engine, Invitation) == 1
