"""Every dashboard route that changes something refuses a viewer and a request without the CSRF token, while an
admin gets past both checks. The routes are read from the app, so a write route is covered the day it is added."""

from __future__ import annotations

import re

from tests.routes import every_route

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Posts that store nothing (the survey preview's "sent" page), so a viewer may make them without a token.
READ_ONLY_POSTS = frozenset({("POST", "/dashboard/surveys/{key}/preview")})
NO_SUCH_ID = "999999"  # every path parameter names nothing, so an admin's request changes nothing either


def write_routes(app) -> list[tuple[str, str]]:  # noqa: ANN001
    """(method, concrete path) of each state-changing dashboard route."""
    routes = sorted({(method, path) for path, methods in every_route(app) if path.startswith("/dashboard")
                     for method in methods & WRITE_METHODS if (method, path) not in READ_ONLY_POSTS})
    return [(method, re.sub(r"\{[^}]+\}", NO_SUCH_ID, path)) for method, path in routes]


def _refused_for_role(answer) -> bool:  # noqa: ANN001
    return answer.status_code == 403 and "role" in answer.text and "needs the" in answer.text


def _refused_for_csrf(answer) -> bool:  # noqa: ANN001
    return answer.status_code == 403 and "did not come from voc" in answer.text


def test_the_dashboard_has_write_routes_to_check(app):
    paths = {path for _, path in write_routes(app)}
    assert {"/dashboard/contact-erase", "/dashboard/surveys/new", f"/dashboard/surveys/{NO_SUCH_ID}/status"} <= paths


def test_a_viewer_is_refused_every_write(client, app, login):
    csrf = login("viewer")
    for method, path in write_routes(app):
        answer = client.request(method, path, headers={"X-CSRF-Token": csrf})
        assert _refused_for_role(answer), (method, path, answer.status_code, answer.text[:300])


def test_an_admin_gets_past_the_role_check_on_every_write(client, app, login):
    csrf = login("admin")
    for method, path in write_routes(app):
        answer = client.request(method, path, headers={"X-CSRF-Token": csrf}, follow_redirects=False)
        assert not _refused_for_role(answer) and not _refused_for_csrf(answer), (method, path, answer.status_code)
        assert not answer.headers.get("location", "").startswith("/login"), (method, path)  # still signed in


def test_every_write_needs_the_csrf_token(client, app, login):
    login("admin")
    for method, path in write_routes(app):
        answer = client.request(method, path, headers={"X-CSRF-Token": "forged"})
        assert _refused_for_csrf(answer), (method, path, answer.status_code, answer.text[:300])
