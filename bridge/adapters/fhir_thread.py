"""A reply or a forward: a new CareCommunication that carries on the thread of a received one.

MedCom threads a conversation by repetition: a reply (or a forward) keeps the thread's
Communication.identifier, category and topic, carries every earlier payload before its own, and
adds a Provenance of its activity whose entities are its own payload and, as ``revision``, the
MessageHeader it answers, next to the earlier messages' Provenances. The earlier parts are copied
unchanged from the message received, with the resources they refer to (their authors and
organisations), so the receiver sees the conversation exactly as it was written.
"""

from __future__ import annotations

import copy
from typing import Any

from bridge.adapters.fhir_profiles import ACTIVITY_CODE_SYSTEM, PROFILES

REPLY = "reply-message"
FORWARD = "forward-message"
ACTIVITIES = (REPLY, FORWARD)
_LABELS = {REPLY: "Svar (reply-message)", FORWARD: "Videresendelse (forward-message)"}
_NEW_MESSAGE_LABEL = "Ny meddelelse (new-message)"


def _resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle.get("entry", []) if isinstance(e.get("resource"), dict)]


def _one(resources: list[dict[str, Any]], resource_type: str) -> dict[str, Any]:
    found = [r for r in resources if r.get("resourceType") == resource_type]
    if len(found) != 1:
        raise ValueError(f"the earlier message has {len(found)} {resource_type} resources")
    return found[0]


def _references(node: Any) -> set[str]:
    """Every ``reference`` string inside ``node``."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                found.add(value)
            else:
                found |= _references(value)
    elif isinstance(node, list):
        for value in node:
            found |= _references(value)
    return found


def _referred(
    roots: list[dict[str, Any]], by_reference: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The resources ``roots`` refer to, and those they refer to in turn, in a stable order."""
    seen: dict[str, dict[str, Any]] = {}
    todo = sorted(set().union(*(_references(r) for r in roots))) if roots else []
    while todo:
        reference = todo.pop(0)
        resource = by_reference.get(reference)
        if resource is None or reference in seen:
            continue
        seen[reference] = resource
        todo.extend(sorted(_references(resource) - seen.keys()))
    return list(seen.values())


def continue_thread(
    new_resources: list[dict[str, Any]], earlier: dict[str, Any], activity: str
) -> list[dict[str, Any]]:
    """The resources of a reply or forward: ``new_resources`` (a new message as
    ``build_care_communication`` makes it) continuing the thread of the ``earlier`` Bundle."""
    if activity not in ACTIVITIES:
        raise ValueError(f"activity must be one of {', '.join(ACTIVITIES)}")
    previous = _resources(earlier)
    previous_header = _one(previous, "MessageHeader")
    previous_comm = _one(previous, "Communication")
    resources = copy.deepcopy(new_resources)
    comm = _one(resources, "Communication")
    comm["identifier"] = copy.deepcopy(previous_comm["identifier"])
    comm["category"] = copy.deepcopy(previous_comm["category"])
    if "topic" in previous_comm:
        comm["topic"] = copy.deepcopy(previous_comm["topic"])
    else:
        comm.pop("topic", None)
    earlier_payloads = copy.deepcopy(previous_comm.get("payload", []))
    comm["payload"] = earlier_payloads + comm["payload"]
    own_provenance = _one(resources, "Provenance")
    own_provenance["activity"] = {"coding": [{"system": ACTIVITY_CODE_SYSTEM, "code": activity}]}
    own_provenance["entity"] = [
        *own_provenance["entity"],
        {"role": "revision", "what": {"reference": f"MessageHeader/{previous_header['id']}"}},
    ]
    own_provenance["text"]["div"] = own_provenance["text"]["div"].replace(
        _NEW_MESSAGE_LABEL, _LABELS[activity]
    )
    thread_provenances = [
        copy.deepcopy(r)
        for r in previous
        if r.get("resourceType") == "Provenance"
        and PROFILES["Provenance"] in (r.get("meta") or {}).get("profile", [])
    ]
    by_reference = {f"{r['resourceType']}/{r['id']}": r for r in previous if "id" in r}
    present = {f"{r['resourceType']}/{r['id']}" for r in resources}
    carried = [
        copy.deepcopy(r)
        for r in _referred([{"payload": earlier_payloads}, *thread_provenances], by_reference)
        if f"{r['resourceType']}/{r['id']}" not in present
        and r["resourceType"] not in ("MessageHeader", "Patient", "Communication")
    ]
    return [*resources, *carried, *thread_provenances]
