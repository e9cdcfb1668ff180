"""Fake HubSpot and Salesforce APIs on loopback that answer as the real ones document, and check every
request voc makes against the shapes they document: method, path, query, headers, body and value types.

A request the real CRM would refuse is refused here the same way (HubSpot's VALIDATION_ERROR JSON,
Salesforce's error list), and also noted in `violations`, which tests assert stays empty."""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

ISO_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
DAY = re.compile(r"^\d{4}-\d\d-\d\d$")


@dataclass
class Seen:
    """One request as the fake received it."""

    method: str
    path: str  # raw, still percent-encoded
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int = 0

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class FakeServer:
    """A threaded HTTP server on 127.0.0.1 with scripted answers to put before the normal ones."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.violations: list[str] = []
        self.scripted: list[tuple[Callable[[Seen], bool], Answer]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._ids = itertools.count(501)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                fake._serve(self, body)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any  # noqa: N815 - the stdlib's names

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):  # noqa: ANN202 - NODELAY: no Nagle pause between headers and body
                sock, address = super().get_request()
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return sock, address

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def script(self, answer: Answer, when: Callable[[Seen], bool] = lambda _seen: True, times: int = 1) -> None:
        """Answer the next `times` requests matching `when` with `answer` instead of the normal route."""
        with self._lock:
            self.scripted += [(when, answer)] * times

    def requests(self, method: str | None = None, path_prefix: str = "") -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if (method is None or s.method == method) and s.path.startswith(path_prefix)]

    def violate(self, message: str) -> None:
        self.violations.append(message)

    def _serve(self, request: BaseHTTPRequestHandler, body: bytes) -> None:
        parts = urlsplit(request.path)
        headers = {k.lower(): v for k, v in request.headers.items()}
        seen = Seen(request.command, parts.path, parse_qs(parts.query), headers, body)
        with self._lock:
            scripted = next(((i, answer) for i, (when, answer) in enumerate(self.scripted) if when(seen)), None)
            if scripted is not None:
                del self.scripted[scripted[0]]
        try:
            answer = scripted[1] if scripted else self.route(seen)
        except Exception as exc:  # noqa: BLE001 - a bug in the fake shows as a 500 and a violation
            self.violate(f"fake crashed on {seen.method} {seen.path}: {exc!r}")
            answer = Answer(500, {"message": "fake crashed"})
        seen.status = answer.status
        with self._lock:
            self.seen.append(seen)
        payload = b"" if answer.body is None else json.dumps(answer.body).encode()
        try:
            request.send_response(answer.status)
            for name, value in answer.headers.items():
                request.send_header(name, value)
            if payload:
                request.send_header("content-type", "application/json;charset=utf-8")
            request.send_header("content-length", str(len(payload)))
            request.end_headers()
            request.wfile.write(payload)
        except OSError:
            pass

    def route(self, seen: Seen) -> Answer:  # pragma: no cover - each fake has its own
        raise NotImplementedError

    def next_id(self) -> str:
        return str(next(self._ids))


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + "000Z"


# --- HubSpot ------------------------------------------------------------------------------------------

STANDARD_PROPERTIES = {
    "email": {"name": "email", "type": "string", "fieldType": "text", "groupName": "contactinformation",
              "hasUniqueValue": False},
    "firstname": {"name": "firstname", "type": "string", "fieldType": "text", "groupName": "contactinformation"},
    "hs_object_id": {"name": "hs_object_id", "type": "number", "fieldType": "number", "groupName": "contactinformation",
                     "hasUniqueValue": True},
}
FIELD_TYPES = {"string": {"text", "textarea", "html", "phonenumber", "file"},
               "number": {"number", "calculation_equation"}, "date": {"date"}, "datetime": {"date"},
               "enumeration": {"select", "radio", "checkbox"},
               "bool": {"booleancheckbox", "calculation_equation"}}


class FakeHubSpot(FakeServer):
    """HubSpot's CRM v3 contacts and properties APIs, for one account with private-app tokens."""

    def __init__(self, token: str = "pat-na1-good") -> None:  # noqa: S107 - a fake's token
        super().__init__()
        self.tokens = {token: {"crm.objects.contacts.read", "crm.objects.contacts.write",
                               "crm.schemas.contacts.write"}}
        self.expired: set[str] = set()
        self.groups: dict[str, dict[str, Any]] = {"contactinformation": {"name": "contactinformation"}}
        self.properties: dict[str, dict[str, Any]] = {k: dict(v) for k, v in STANDARD_PROPERTIES.items()}
        self.contacts: dict[str, dict[str, Any]] = {}
        self.updates: list[dict[str, Any]] = []  # every accepted PATCH/POST body's properties, as sent

    # state helpers
    def add_contact(self, **properties: str) -> str:
        record_id = self.next_id()
        self.contacts[record_id] = {"id": record_id, "properties": {"hs_object_id": record_id, **properties},
                                    "createdAt": _now_iso(), "updatedAt": _now_iso(), "archived": False}
        return record_id

    def install_voc_properties(self) -> None:
        """As `voc crm setup hubspot` leaves the account."""
        from voc.crm.hubspot import GROUP, PROPERTIES

        self.groups[GROUP] = {"name": GROUP}
        for prop in PROPERTIES:
            self.properties[prop.name] = prop.definition()

    @staticmethod
    def _error(status: int, category: str, message: str, **extra: Any) -> Answer:
        return Answer(status, {"status": "error", "message": message, "correlationId": "5f0c3b1e-fake",
                               "category": category, **extra})

    def _authorised(self, seen: Seen, scope: str) -> Answer | None:
        header = seen.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            self.violate(f"{seen.method} {seen.path} without a Bearer token")
            return self._error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
        token = header[7:]
        if token in self.expired:
            return self._error(401, "EXPIRED_AUTHENTICATION",
                               "The OAuth token used to make this call expired 2 hour(s) ago.")
        if token not in self.tokens:
            return self._error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
        if scope not in self.tokens[token]:
            return self._error(403, "MISSING_SCOPES", "This app hasn't been granted all required scopes to make "
                                                      "this call.", errors=[{"message": f"One or more of the "
                                                                                        f"following scopes are "
                                                                                        f"required: [{scope}]"}])
        return None

    def _json(self, seen: Seen) -> Any:
        if not seen.headers.get("content-type", "").startswith("application/json"):
            self.violate(f"{seen.method} {seen.path}: content-type {seen.headers.get('content-type')!r}")
        try:
            return json.loads(seen.body)
        except ValueError:
            self.violate(f"{seen.method} {seen.path}: a body that is not JSON")
            return None

    def route(self, seen: Seen) -> Answer:
        path = seen.path
        if path.startswith("/crm/v3/objects/contacts"):
            refused = self._authorised(seen, "crm.objects.contacts.write" if seen.method != "GET"
                                       else "crm.objects.contacts.read")
            if refused:
                return refused
            rest = path[len("/crm/v3/objects/contacts"):]
            if seen.method == "POST" and rest == "":
                return self._create_contact(seen)
            if seen.method == "PATCH" and rest.startswith("/") and rest.count("/") == 1:
                return self._update_contact(seen, unquote(rest[1:]))
            self.violate(f"unexpected {seen.method} {path}")
            return Answer(405)
        if path.startswith("/crm/v3/properties/contacts"):
            refused = self._authorised(seen, "crm.schemas.contacts.write" if seen.method != "GET"
                                       else "crm.objects.contacts.read")
            return refused or self._properties(seen, path[len("/crm/v3/properties/contacts"):])
        self.violate(f"unexpected {seen.method} {path}")
        return Answer(404, None)

    # objects
    def _find(self, key: str, id_property: str | None) -> dict[str, Any] | None:
        if id_property is None:
            return self.contacts.get(key) if key.isdigit() else None
        return next((c for c in self.contacts.values() if c["properties"].get(id_property) == key), None)

    def _check_values(self, values: Any) -> list[dict[str, Any]]:
        """HubSpot's per-property validation: every name exists, every value has its type's form."""
        problems = []
        if not isinstance(values, dict):
            return [{"error": "INVALID_INPUT", "message": "properties must be an object", "name": ""}]
        for name, value in values.items():
            definition = self.properties.get(name)
            if definition is None:
                problems.append({"isValid": False, "message": f'Property "{name}" does not exist',
                                 "error": "PROPERTY_DOESNT_EXIST", "name": name})
                continue
            if not self._value_ok(definition, value):
                problems.append({"isValid": False, "message": f"{value!r} is not a valid {definition['type']}",
                                 "error": "INVALID_" + definition["type"].upper(), "name": name})
        return problems

    def _value_ok(self, definition: dict[str, Any], value: Any) -> bool:
        kind = definition["type"]
        if kind == "number":
            # HubSpot also takes numeric strings; voc sends numbers, and the test holds it to that.
            return isinstance(value, int | float) and not isinstance(value, bool)
        if kind == "bool":
            return value in ("true", "false")
        if kind == "enumeration":
            return value in {o["value"] for o in definition.get("options", [])}
        if kind == "datetime":
            return isinstance(value, str) and bool(ISO_MILLIS.match(value)) or isinstance(value, int)
        if kind == "date":
            if isinstance(value, int):
                return value % 86_400_000 == 0  # midnight UTC
            return isinstance(value, str) and bool(DAY.match(value))
        return isinstance(value, str)

    def _apply(self, record: dict[str, Any], values: dict[str, Any]) -> None:
        # HubSpot keeps every value as a string and answers with strings.
        for name, value in values.items():
            record["properties"][name] = json.dumps(value) if isinstance(value, int | float) and \
                not isinstance(value, bool) else str(value)
        record["updatedAt"] = _now_iso()

    def _update_contact(self, seen: Seen, key: str) -> Answer:
        body = self._json(seen)
        if not isinstance(body, dict) or set(body) != {"properties"}:
            self.violate(f"PATCH body is not {{'properties': …}}: {seen.body[:200]!r}")
            return self._error(400, "VALIDATION_ERROR", "Invalid input JSON")
        id_property = (seen.query.get("idProperty") or [None])[0]
        if id_property is not None and not self.properties.get(id_property, {}).get("hasUniqueValue") \
                and id_property != "email":
            return self._error(400, "VALIDATION_ERROR", f"{id_property} is not a unique property")
        problems = self._check_values(body["properties"])
        if problems:
            self.violate(f"PATCH refused: {problems}")
            return self._error(400, "VALIDATION_ERROR", f"Property values were not valid: {json.dumps(problems)}",
                               errors=problems)
        record = self._find(key, id_property)
        if record is None:
            return self._error(404, "OBJECT_NOT_FOUND", "resource not found")
        self.updates.append(body["properties"])
        self._apply(record, body["properties"])
        return Answer(200, record)

    def _create_contact(self, seen: Seen) -> Answer:
        body = self._json(seen)
        if not isinstance(body, dict) or "properties" not in body:
            self.violate(f"POST body without properties: {seen.body[:200]!r}")
            return self._error(400, "VALIDATION_ERROR", "Invalid input JSON")
        problems = self._check_values(body["properties"])
        if problems:
            self.violate(f"POST refused: {problems}")
            return self._error(400, "VALIDATION_ERROR", "Property values were not valid", errors=problems)
        email = body["properties"].get("email")
        existing = email and self._find(email, "email")
        if existing:
            return self._error(409, "CONFLICT", f"Contact already exists. Existing ID: {existing['id']}")
        record_id = self.add_contact()
        self.updates.append(body["properties"])
        self._apply(self.contacts[record_id], body["properties"])
        return Answer(201, self.contacts[record_id])

    # properties
    def _properties(self, seen: Seen, rest: str) -> Answer:
        if rest.startswith("/groups"):
            name = unquote(rest[len("/groups/"):]) if rest.startswith("/groups/") else ""
            if seen.method == "GET" and name:
                group = self.groups.get(name)
                return Answer(200, group) if group else self._error(404, "OBJECT_NOT_FOUND",
                                                                    f"Unable to find group {name}")
            if seen.method == "POST" and not name:
                body = self._json(seen) or {}
                if not isinstance(body.get("name"), str) or not isinstance(body.get("label"), str):
                    self.violate(f"group without name or label: {body}")
                    return self._error(400, "VALIDATION_ERROR", "name and label are required")
                if body["name"] in self.groups:
                    return self._error(409, "CONFLICT", f"Group {body['name']} already exists")
                self.groups[body["name"]] = body
                return Answer(201, body)
        name = unquote(rest[1:]) if rest.startswith("/") else ""
        if seen.method == "GET" and name:
            found = self.properties.get(name)
            return Answer(200, found) if found else self._error(404, "OBJECT_NOT_FOUND",
                                                                f"Unable to find property {name}")
        if seen.method == "POST" and not name:
            return self._create_property(self._json(seen) or {})
        self.violate(f"unexpected {seen.method} /crm/v3/properties/contacts{rest}")
        return Answer(405)

    def _create_property(self, body: dict[str, Any]) -> Answer:
        missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
        problem = None
        if missing:
            problem = f"missing {missing}"
        elif not re.match(r"^[a-z][a-z0-9_]*$", body["name"]):
            problem = f"bad internal name {body['name']!r}"
        elif body["type"] not in FIELD_TYPES or body["fieldType"] not in FIELD_TYPES[body["type"]]:
            problem = f"type {body['type']!r} with fieldType {body['fieldType']!r}"
        elif body["groupName"] not in self.groups:
            problem = f"no group {body['groupName']!r}"
        elif body["type"] in ("enumeration", "bool"):
            options = body.get("options")
            if not options or not all(isinstance(o, dict) and isinstance(o.get("label"), str)
                                       and isinstance(o.get("value"), str) for o in options):
                problem = f"{body['name']}: options must be [{{label, value}}]"
            elif body["type"] == "bool" and {o["value"] for o in options} != {"true", "false"}:
                problem = f"{body['name']}: a bool's options are true and false"
        if problem:
            self.violate(f"property refused: {problem}")
            return self._error(400, "VALIDATION_ERROR", problem)
        if body["name"] in self.properties:
            return self._error(409, "CONFLICT", f"Property named '{body['name']}' already exists.")
        self.properties[body["name"]] = body
        return Answer(201, body)


# --- Salesforce ---------------------------------------------------------------------------------------

class FakeSalesforce(FakeServer):
    """One Salesforce org: its token endpoint (client credentials) and the Contact sObject API."""

    def __init__(self, client_id: str = "3MVG9-voc-test",
                 client_secret: str = "s3cr3t-consumer") -> None:  # noqa: S107 - a fake's secret
        super().__init__()
        self.clients = {client_id: client_secret}
        self.tokens: set[str] = set()
        self.limit_exceeded = False
        self.external_id_fields = {"Voc_External_Id__c"}
        self.contacts: dict[str, dict[str, Any]] = {}
        self.updates: list[dict[str, Any]] = []
        self._token_ids = itertools.count(1)
        from voc.crm.salesforce import FIELDS

        self.fields = {f.api_name: f for f in FIELDS}

    def add_contact(self, external_id: str, **fields: Any) -> str:
        record_id = "003" + self.next_id().rjust(15, "0")
        self.contacts[record_id] = {"Id": record_id, "LastName": "Doe", "Voc_External_Id__c": external_id, **fields}
        return record_id

    def contact(self, external_id: str) -> dict[str, Any]:
        return next(c for c in self.contacts.values() if c.get("Voc_External_Id__c") == external_id)

    def expire_tokens(self) -> None:
        """The org's session timeout passed: every token issued so far is refused."""
        self.tokens.clear()

    def route(self, seen: Seen) -> Answer:
        if seen.path == "/services/oauth2/token":
            return self._token(seen)
        prefix = "/services/data/v62.0/sobjects/Contact/"
        if seen.path.startswith(prefix) and seen.method == "PATCH":
            header = seen.headers.get("authorization", "")
            if not header.startswith("Bearer ") or header[7:] not in self.tokens:
                return Answer(401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
            if self.limit_exceeded:
                return Answer(403, [{"message": "TotalRequests Limit exceeded.",
                                     "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
            field_name, _, value = seen.path[len(prefix):].partition("/")
            return self._upsert(seen, field_name, unquote(value))
        self.violate(f"unexpected {seen.method} {seen.path}")
        return Answer(404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])

    def _token(self, seen: Seen) -> Answer:
        if seen.method != "POST" or seen.headers.get("content-type") != "application/x-www-form-urlencoded":
            self.violate(f"token request {seen.method} with {seen.headers.get('content-type')!r}")
        form = {k: v[0] for k, v in parse_qs(seen.body.decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return Answer(400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"})
        if self.clients.get(form.get("client_id", "")) != form.get("client_secret"):
            return Answer(400, {"error": "invalid_client", "error_description": "invalid client credentials"})
        token = f"00DFAKE!AQ{next(self._token_ids):04d}.token"
        self.tokens.add(token)
        return Answer(200, {"access_token": token, "signature": "c2ln", "instance_url": self.url,
                            "id": f"{self.url}/id/00DFAKE/005FAKE", "token_type": "Bearer",
                            "issued_at": str(int(datetime.now(UTC).timestamp() * 1000))})

    def _value_ok(self, name: str, value: Any) -> bool:
        spec = self.fields[name]
        if spec.kind == "number":
            return isinstance(value, int | float) and not isinstance(value, bool)
        if spec.kind == "checkbox":
            return isinstance(value, bool)
        if spec.kind == "picklist":
            return value in spec.values
        if spec.kind == "datetime":
            return isinstance(value, str) and bool(ISO_MILLIS.match(value))
        return isinstance(value, str) and len(value) <= spec.length

    def _upsert(self, seen: Seen, field_name: str, value: str) -> Answer:
        if field_name not in self.external_id_fields:
            return Answer(404, [{"errorCode": "NOT_FOUND", "message": "Provided external ID field does not exist or "
                                                                      f"is not accessible: {field_name}"}])
        if not seen.headers.get("content-type", "").startswith("application/json"):
            self.violate(f"upsert with content-type {seen.headers.get('content-type')!r}")
        try:
            body = json.loads(seen.body)
        except ValueError:
            self.violate("upsert body is not JSON")
            return Answer(400, [{"errorCode": "JSON_PARSER_ERROR", "message": "Unexpected character"}])
        if not isinstance(body, dict):
            self.violate("upsert body is not an object")
            return Answer(400, [{"errorCode": "INVALID_TYPE", "message": "Cannot deserialize instance of Contact"}])
        for name, field_value in body.items():
            if name == field_name:
                self.violate("the external id field is in the body")
                return Answer(400, [{"errorCode": "INVALID_FIELD", "message": f"{name} is in the URL"}])
            if name not in self.fields:
                self.violate(f"unknown field {name}")
                return Answer(400, [{"errorCode": "INVALID_FIELD", "message": f"No such column '{name}' on sobject "
                                                                              "of type Contact"}])
            if not self._value_ok(name, field_value):
                self.violate(f"{name}: {field_value!r} is not a {self.fields[name].kind}")
                return Answer(400, [{"errorCode": "INVALID_TYPE_ON_FIELD_IN_RECORD",
                                     "message": f"{name}: value not of required type: {field_value}",
                                     "fields": [name]}])
        matches = [c for c in self.contacts.values() if c.get(field_name) == value]
        if len(matches) > 1:
            return Answer(300, [c["Id"] for c in matches])
        if not matches:
            return Answer(400, [{"message": "Required fields are missing: [LastName]",
                                 "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["LastName"]}])
        matches[0].update(body)
        self.updates.append(body)
        return Answer(200, {"id": matches[0]["Id"], "success": True, "errors": [], "created": False})


@contextlib.contextmanager
def running(fake: FakeServer):  # noqa: ANN201
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
