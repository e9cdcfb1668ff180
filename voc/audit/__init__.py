"""The audit log: who changed what, when and from where (voc.audit.record), with secrets left out."""

from voc.audit.actors import (
    CLI,
    Actor,
    actor_from_request,
    anonymous_actor,
    key_actor,
    request_address,
    user_actor,
)
from voc.audit.service import list_entries, record, redact, state
from voc.audit.states import api_key_state, user_state

__all__ = ["CLI", "Actor", "actor_from_request", "anonymous_actor", "api_key_state", "key_actor", "list_entries",
           "record", "redact", "request_address", "state", "user_actor", "user_state"]
