"""An admin tries an active survey from its page: the test link is copied with one click and opens the survey."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from voc.demo.loader import SURVEYS

SURVEY = SURVEYS[0]


def test_the_copied_test_link_opens_the_survey(signed_in, new_page, live_server):
    admin = signed_in()
    admin.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    admin.goto(f"{live_server.url}/dashboard/surveys/{SURVEY['key']}")
    admin.get_by_role("button", name=re.compile(r"(Make a|New) test link")).click()
    expect(admin).to_have_url(re.compile(r"#try-it$"))
    link = admin.locator("#test-link").input_value()
    assert "/s/" in link

    admin.get_by_role("button", name="Copy link").click()
    expect(admin.locator("#try-it button[data-copy-target=test-link]")).to_have_text("Copied")
    assert admin.evaluate("navigator.clipboard.readText()") == link

    customer = new_page()
    customer.goto(link)
    expect(customer.get_by_role("heading", level=1)).to_have_text(SURVEY["title"])
