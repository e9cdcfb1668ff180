"""Touchpoints are named as people name them on every dashboard page; the key comes second, for the API user."""

from __future__ import annotations

import re

from tests import factories as f
from voc.db import session_scope


def test_the_surveys_list_names_each_survey_s_touchpoints(client, engine, login):
    with session_scope(engine) as session:
        f.touchpoint(session, key="order_delivered", name="Order delivered")
        f.touchpoint(session, key="ticket_closed", stage="support", name="Support ticket closed")
        f.survey(session, key="post_delivery", touchpoint="order_delivered")
        f.survey(session, key="after_support", touchpoint="ticket_closed", title="Your support request")
    login("viewer")
    page = client.get("/dashboard/surveys").text
    for key, name in (("order_delivered", "Order delivered"), ("ticket_closed", "Support ticket closed")):
        assert re.search(rf"{name} <small><code>{key}</code></small>", page), name
