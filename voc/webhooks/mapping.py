"""Per-endpoint payload mapping: the event body rendered through a sandboxed Jinja template, or built by
a preset (the standard body, a CRM's update, a chat alert)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from voc.crm.hubspot import contact_properties
from voc.crm.salesforce import sobject_fields
from voc.errors import Invalid
from voc.webhooks.alerts import slack_message, teams_message
from voc.webhooks.samples import EVENT_TYPES, sample_event

DEFAULT_PRESET = "standard"
PRESETS = ("standard", "hubspot-contact-properties", "salesforce-sobject", "slack", "teams")
# Presets built in Python: typed values per CRM property, escaping per chat format. fn(event, context).
BUILDERS: dict[str, Callable[[dict[str, Any], dict[str, Any] | None], Any]] = {
    # presets/standard.j2 is `{{ event|tojson }}`: the same bytes, serialised once instead of rendered, parsed
    # and serialised again (every delivery to a plain endpoint runs it).
    "standard": lambda event, _context: _tojson(event).encode(),
    "hubspot-contact-properties": lambda event, _context: contact_properties(event),
    "salesforce-sobject": lambda event, _context: sobject_fields(event),
    "slack": slack_message,
    "teams": teams_message,
}

# The sandbox stops templates from reaching Python internals or mutating data, not from burning
# CPU or memory; templates come from authenticated admins, so size caps are the remaining guard.
MAX_TEMPLATE_CHARS = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024


class MappingError(Invalid):
    """A payload template or preset that cannot produce a JSON body."""

    code = "invalid_payload_template"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


def _undefined_as_error(value: Any) -> Any:
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises here with the useful "has no attribute 'x'" message
    raise TypeError(f"{type(value).__name__} cannot be written as JSON")


def _tojson(value: Any) -> str:
    # Compact, sorted and strict (no NaN), so the same event always yields the same bytes.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                      default=_undefined_as_error)


def _environment() -> jinja2.Environment:
    # Autoescape off: the output is JSON, not HTML; values are embedded with |tojson.
    # StrictUndefined turns a misspelt field into an error at validation time, not a silent "".
    env = ImmutableSandboxedEnvironment(autoescape=False, undefined=jinja2.StrictUndefined)
    env.filters["tojson"] = _tojson
    return env


_ENV = _environment()


@functools.lru_cache(maxsize=256)
def _compile(source: str) -> jinja2.Template:
    return _ENV.from_string(source)


@functools.cache
def _preset_source(preset: str) -> str:
    return (resources.files("voc.webhooks") / "presets" / f"{preset}.j2").read_text(encoding="utf-8")


def _template(template: str | None, preset: str) -> jinja2.Template | Callable[..., Any]:
    if template is None:
        if preset not in PRESETS:
            known = ", ".join(PRESETS)
            raise MappingError("unknown_payload_preset", f"unknown preset {preset!r}; one of {known}")
        return BUILDERS.get(preset) or _compile(_preset_source(preset))
    if len(template) > MAX_TEMPLATE_CHARS:
        raise MappingError("invalid_payload_template",
                           f"the template is longer than {MAX_TEMPLATE_CHARS} characters")
    try:
        return _compile(template)
    except jinja2.TemplateSyntaxError as exc:
        raise MappingError("invalid_payload_template",
                           f"syntax error on line {exc.lineno}: {exc.message}") from None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _build(builder: Callable[..., Any], event: dict[str, Any], context: dict[str, Any] | None, code: str) -> bytes:
    where = f"for {event.get('type')} events"
    try:
        body = builder(event, context)
        payload = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":"), ensure_ascii=False,
                                                                   allow_nan=False).encode()
    except Exception as exc:  # noqa: BLE001 - data the preset did not expect is the event's problem, not a crash
        raise MappingError(code, f"the preset fails {where}: {type(exc).__name__}: {exc}") from None
    if len(payload) > MAX_BODY_BYTES:
        raise MappingError(code, f"the body {where} is larger than {MAX_BODY_BYTES} bytes")
    return payload


def _render(compiled: jinja2.Template | Callable[..., Any], event: dict[str, Any], code: str,
            context: dict[str, Any] | None = None) -> bytes:
    if not isinstance(compiled, jinja2.Template):
        return _build(compiled, event, context, code)
    where = f"for {event.get('type')} events"
    try:
        text = compiled.render(event=event, type=event.get("type"), timestamp=event.get("timestamp"),
                               data=event.get("data"))
    except Exception as exc:  # noqa: BLE001 - any failure of user-written template code is the template's
        kind = "" if isinstance(exc, jinja2.TemplateError) else f"{type(exc).__name__}: "
        raise MappingError(code, f"the template fails {where}: {kind}{exc}") from None
    try:
        body = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise MappingError(code, f"the template output {where} is not valid JSON: "
                                 f"{exc.msg} (line {exc.lineno} column {exc.colno})") from None
    except ValueError as exc:
        raise MappingError(code, f"the template output {where} is not valid JSON: {exc}") from None
    if not isinstance(body, dict | list):
        raise MappingError(code, f"the template output {where} must be a JSON object or array")
    # Re-serialised compactly, so a template may be laid out for reading without bloating the body.
    payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    if len(payload) > MAX_BODY_BYTES:
        raise MappingError(code, f"the body {where} is larger than {MAX_BODY_BYTES} bytes")
    return payload


def render_payload(template: str | None, preset: str, event: dict[str, Any],
                   context: dict[str, Any] | None = None) -> bytes:
    """Render the request body for `event` with the endpoint's template, or its preset when none
    (`context`: what an alert preset reads from the database besides the event)."""
    return _render(_template(template, preset), event, "payload_render_failed", context)


def validate_template(template: str | None, preset: str, event_types: Iterable[str] | None = None) -> None:
    """Raise `MappingError` unless the template (or preset) renders valid JSON for each sample event."""
    compiled = _template(template, preset)
    for event_type in event_types if event_types is not None else EVENT_TYPES:
        _render(compiled, sample_event(event_type), "invalid_payload_template")
