"""The loader as served (small, cacheable, right type) and the survey page of an embed invitation,
which only the site's allowed origins may frame."""

from __future__ import annotations

import re

from tests import factories as f
from tests.embed.conftest import ORIGIN
from voc.api.embed import loader_script
from voc.resources import resource_dir

MAX_LOADER_BYTES = 10 * 1024


def test_the_loader_is_small_and_served_as_cacheable_javascript(client) -> None:
    answer = client.get("/embed.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/javascript; charset=utf-8"
    assert len(answer.content) < MAX_LOADER_BYTES, f"embed.js is {len(answer.content)} bytes"
    assert answer.content == (resource_dir("static") / "js" / "embed.js").read_bytes() == loader_script()[0]
    assert "max-age=3600" in answer.headers["cache-control"] and "public" in answer.headers["cache-control"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cross-origin-resource-policy"] == "cross-origin"
    etag = answer.headers["etag"]
    again = client.get("/embed.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.content and again.headers["etag"] == etag


def test_the_loader_sets_no_global_but_voc_and_catches_its_failures() -> None:
    source = loader_script()[0].decode()
    # One IIFE; the only assignment to window is `voc`.
    assert re.findall(r"\bw\.(\w+)\s*=(?!=)", source) == ["voc"]
    assert "console.error" not in source and "eval(" not in source
    assert ".catch(" in source and 'sandbox", "allow-scripts allow-forms allow-same-origin"' in source


def _csp(answer) -> str:
    return answer.headers["content-security-policy"]


def test_the_survey_page_of_an_embed_invitation_may_be_framed_by_the_site_only(client, site, embed_survey, ask,
                                                                             session) -> None:
    """Depends on the hosted survey page calling allow_framing(request, site.allowed_origins) for an
    invitation with a site (voc/web/survey.py)."""
    embed_survey()
    url = ask(survey="widget", contact="crm-1", signature=site.sign("crm-1")).json()["url"]
    page = client.get(url.replace("http://testserver", ""))
    assert page.status_code == 200
    assert f"frame-ancestors {ORIGIN} http://localhost:3000;" in _csp(page)
    assert "x-frame-options" not in page.headers
    # The page after answering is shown in the same frame.
    sent = client.post(url.replace("http://testserver", ""), data={"q_nps": "8"})
    assert sent.status_code == 200, sent.text
    assert f"frame-ancestors {ORIGIN} http://localhost:3000;" in _csp(sent)

    # A link or e-mail invitation stays unframeable.
    f.touchpoint(session)
    f.survey(session, key="post_delivery")
    link = f.event(session, "evt-1", contact="crm-2").invitation.url
    session.commit()
    hosted = client.get(link.replace("http://testserver", ""))
    assert "frame-ancestors 'none'" in _csp(hosted) and hosted.headers["x-frame-options"] == "DENY"
