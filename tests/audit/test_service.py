"""The audit log's service: secrets left out, entries only in the transaction of their change, pages."""

from __future__ import annotations

from sqlmodel import Session, select

from tests import factories
from voc import audit
from voc.audit.models import AuditEntry
from voc.surveys import service
from voc.surveys.schemas import SurveyUpdate


def test_redact_drops_secrets_at_any_depth_and_keeps_header_names():
    cleaned = audit.redact({
        "name": "CRM", "secret": "whsec_x", "client_secret": "cs", "password": "pw", "access_token": "t",
        "headers": {"Authorization": "Bearer crm-token"}, "token_cached": True,
        "previous_secret_expires_at": "2026-01-01T00:00:00Z",
        "nested": [{"signing_secret": "s", "ok": 1}], "options": {"api_token": "z", "id_property": "email"}})
    assert cleaned == {"name": "CRM", "headers": ["Authorization"], "token_cached": True,
                       "previous_secret_expires_at": "2026-01-01T00:00:00Z", "nested": [{"ok": 1}],
                       "options": {"id_property": "email"}}


def test_a_rolled_back_change_leaves_no_entry(engine):
    with Session(engine) as session:
        factories.touchpoint(session)
        factories.survey(session)
        session.commit()
    with Session(engine) as session:
        changed = service.update_survey(session, "post_delivery", SurveyUpdate(title="Changed"))
        audit.record(session, audit.CLI, "survey.updated", "survey", changed.key, after=service.survey_public(changed))
        assert session.exec(select(AuditEntry)).one().action == "survey.updated"  # flushed, in the transaction
        session.rollback()
    with Session(engine) as session:
        assert session.exec(select(AuditEntry)).all() == []
        assert service.get_survey(session, "post_delivery").title != "Changed"


def test_entries_come_newest_first_in_pages_and_filter(engine):
    with Session(engine) as session:
        for n in range(5):
            audit.record(session, audit.Actor("user", 7, "ana@example.com", "10.0.0.1"), "survey.updated", "survey",
                         f"s{n}")
        audit.record(session, audit.CLI, "site.created", "site", "shop")
        session.commit()
        first = audit.list_entries(session, limit=4)
        assert [e.object_key for e in first.items] == ["shop", "s4", "s3", "s2"] and first.next_cursor
        second = audit.list_entries(session, limit=4, cursor=first.next_cursor)
        assert [e.object_key for e in second.items] == ["s1", "s0"] and second.next_cursor is None
        assert len(audit.list_entries(session, action="survey").items) == 5
        assert len(audit.list_entries(session, action="survey.updated", actor="ANA@").items) == 5
        assert len(audit.list_entries(session, actor="user:7").items) == 5
        assert [e.object_key for e in audit.list_entries(session, object_="site:shop").items] == ["shop"]
        assert audit.list_entries(session, object_="site:nope").items == []
        assert first.items[1].address == "10.0.0.1" and first.items[0].actor_kind == "cli"
