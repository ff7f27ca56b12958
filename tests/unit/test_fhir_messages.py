"""MedCom CareCommunication building and Acknowledgement parsing, checked against MedCom's examples.

Expected values (systems, codes, profiles) are read from MedCom's published example messages in
``/work/shared/medcom-examples`` rather than copied from the code under test.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B.bundle import Bundle

from bridge.adapters.fhir_acknowledgement import build_acknowledgement, parse_acknowledgement
from bridge.adapters.fhir_care_communication import build_care_communication
from bridge.domain.notifications.messages import (
    Acknowledgement,
    CareCommunicationInput,
    OrganisationRef,
    PatientRef,
)
from tests.support.medcom import MEDCOM_EXAMPLES

XHTML = "{http://www.w3.org/1999/xhtml}"

SENDER = OrganisationRef("Psykiatrisk Center Ballerup", "265161000016000", "5790000209354")
RECEIVER = OrganisationRef("Lægerne Herlev Torv", "953741000016009", "5790001348120")


def make_input(**changes: Any) -> CareCommunicationInput:
    values: dict[str, Any] = {
        "message_header_id": "7f1c0a52-3d7e-4a51-9a53-2f0f6b1d9c11",
        "category": "carecoordination",
        "topic": "Netværksmøde",
        "text": "Referat fra netværksmødet.\nNæste møde: 14. juni.",
        "sender": SENDER,
        "receiver": RECEIVER,
        "patient": PatientRef(cpr="2509479989", name="Bruno Elmer"),
        "sent_at": datetime(2024, 6, 1, 13, 55, tzinfo=ZoneInfo("Europe/Copenhagen")),
        "author_name": "Anna Marie Hansen",
        "author_phone": "38683868",
        "link": None,
    }
    values.update(changes)
    return CareCommunicationInput(**values)


@pytest.fixture(scope="module")
def examples() -> Path:
    if not MEDCOM_EXAMPLES.is_dir():
        pytest.skip(f"MedCom example messages not found at {MEDCOM_EXAMPLES}")
    return MEDCOM_EXAMPLES


def load(folder: Path, name: str) -> dict[str, Any]:
    return json.loads((folder / name).read_text(encoding="utf-8"))


def resources(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    ]


def only(bundle: dict[str, Any], resource_type: str) -> dict[str, Any]:
    (found,) = resources(bundle, resource_type)
    return found


def resolve(bundle: dict[str, Any], reference: str) -> dict[str, Any]:
    resource_type, resource_id = reference.split("/")
    (found,) = [r for r in resources(bundle, resource_type) if r["id"] == resource_id]
    return found


def identifier_systems(example: dict[str, Any]) -> tuple[str, str]:
    """(SOR system, GLN system) as the example uses them: the SOR is the id in the endpoint."""
    header = only(example, "MessageHeader")
    destination = header["destination"][0]
    receiver = resolve(example, destination["receiver"]["reference"])
    sor_value = destination["endpoint"].rsplit("=", 1)[-1]
    (sor_system,) = [i["system"] for i in receiver["identifier"] if i["value"] == sor_value]
    (gln_system,) = [i["system"] for i in receiver["identifier"] if i["value"] != sor_value]
    return sor_system, gln_system


# --- the built bundle is FHIR and looks like MedCom's ----------------------------------------


def test_built_bundle_validates_as_fhir_r4_bundle() -> None:
    built = build_care_communication(make_input())

    reparsed = Bundle.model_validate(built)

    assert reparsed.model_dump(mode="json") == built
    assert json.loads(json.dumps(built)) == built
    assert built["type"] == "message"
    assert built["entry"][0]["resource"]["resourceType"] == "MessageHeader"


def test_every_fullurl_matches_its_resource_and_every_reference_resolves() -> None:
    built = build_care_communication(make_input(link="https://example.org/referat"))
    present = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in built["entry"]}

    for entry in built["entry"]:
        resource = entry["resource"]
        assert entry["fullUrl"].endswith(f"/{resource['resourceType']}/{resource['id']}")
    references = re.findall(r'"reference": "([^"]+)"', json.dumps(built))
    assert references
    assert set(references) <= present


def test_bundle_has_the_same_resource_types_as_medcom_cc01(examples: Path) -> None:
    example = load(examples, "cc-01-new-message.json")

    built = build_care_communication(make_input())

    def types(bundle: dict[str, Any]) -> set[str]:
        return {e["resource"]["resourceType"] for e in bundle["entry"]}

    assert types(built) == types(example)
    assert len(resources(built, "Organization")) == len(resources(example, "Organization")) == 2


def test_message_header_event_coding_is_the_one_in_cc01(examples: Path) -> None:
    example = only(load(examples, "cc-01-new-message.json"), "MessageHeader")

    header = only(build_care_communication(make_input()), "MessageHeader")

    assert header["eventCoding"] == example["eventCoding"]
    assert header["definition"] == example["definition"]


def test_meta_profiles_match_cc01_for_every_resource_type(examples: Path) -> None:
    example = load(examples, "cc-01-new-message.json")

    built = build_care_communication(make_input())

    assert built["meta"]["profile"] == example["meta"]["profile"]
    expected = {
        e["resource"]["resourceType"]: e["resource"]["meta"]["profile"] for e in example["entry"]
    }
    for entry in built["entry"]:
        resource = entry["resource"]
        assert resource["meta"]["profile"] == expected[resource["resourceType"]], resource[
            "resourceType"
        ]


def test_destination_carries_the_receiver_like_cc01(examples: Path) -> None:
    example = load(examples, "cc-01-new-message.json")
    example_destination = only(example, "MessageHeader")["destination"][0]
    example_receiver = resolve(example, example_destination["receiver"]["reference"])
    sor_system, _ = identifier_systems(example)
    (example_sor,) = [
        i["value"] for i in example_receiver["identifier"] if i["system"] == sor_system
    ]
    endpoint_prefix = example_destination["endpoint"].removesuffix(example_sor)

    built = build_care_communication(make_input())
    header = only(built, "MessageHeader")

    (destination,) = header["destination"]
    assert destination["extension"] == example_destination["extension"]
    assert destination["endpoint"] == endpoint_prefix + RECEIVER.sor_code
    assert resolve(built, destination["receiver"]["reference"])["name"] == RECEIVER.name
    assert header["source"]["endpoint"] == endpoint_prefix + SENDER.sor_code
    assert resolve(built, header["sender"]["reference"])["name"] == SENDER.name


def test_organizations_use_the_sor_and_gln_systems_of_cc01(examples: Path) -> None:
    sor_system, gln_system = identifier_systems(load(examples, "cc-01-new-message.json"))

    built = build_care_communication(make_input())
    header = only(built, "MessageHeader")

    for reference, org in (
        (header["sender"]["reference"], SENDER),
        (header["destination"][0]["receiver"]["reference"], RECEIVER),
    ):
        identifiers = {i["system"]: i["value"] for i in resolve(built, reference)["identifier"]}
        assert identifiers == {sor_system: org.sor_code, gln_system: org.gln}


def test_patient_cpr_uses_the_cpr_system_of_medcom_examples(examples: Path) -> None:
    # cc-01's patient carries a replacement CPR (use=temp, another system); read the system
    # from the examples whose patient identifier is a real 10-digit CPR number.
    cpr_systems = {
        identifier["system"]
        for path in sorted(examples.glob("cc-*.json"))
        for identifier in only(load(examples, path.name), "Patient")["identifier"]
        if re.fullmatch(r"\d{10}", identifier["value"])
    }
    assert len(cpr_systems) == 1

    patient = only(build_care_communication(make_input()), "Patient")

    assert patient["identifier"] == [{"system": cpr_systems.pop(), "value": "2509479989"}]
    assert patient["name"] == [{"use": "official", "family": "Elmer", "given": ["Bruno"]}]


def test_provenance_records_a_new_message_like_cc01(examples: Path) -> None:
    example = only(load(examples, "cc-01-new-message.json"), "Provenance")

    built = build_care_communication(make_input())
    provenance = only(built, "Provenance")
    communication = only(built, "Communication")

    assert provenance["activity"] == example["activity"]
    assert provenance["target"] == [
        {"reference": "MessageHeader/" + make_input().message_header_id}
    ]
    assert provenance["agent"][0]["who"] == only(built, "MessageHeader")["sender"]
    payload_ids = [
        ext["valueIdentifier"]["value"]
        for payload in communication["payload"]
        for ext in payload["extension"]
        if "valueIdentifier" in ext
    ]
    assert [e["what"]["identifier"]["value"] for e in provenance["entity"]] == payload_ids
    assert {e["role"] for e in provenance["entity"]} == {
        e["role"] for e in example["entity"] if "identifier" in e["what"]
    }


def test_payload_carries_the_same_extensions_as_cc01_and_needs_a_phone(
    examples: Path,
) -> None:
    example = only(load(examples, "cc-01-new-message.json"), "Communication")
    example_urls = [ext["url"] for ext in example["payload"][0]["extension"]]

    with_phone = only(
        build_care_communication(make_input(author_phone="38683868")), "Communication"
    )

    assert [ext["url"] for ext in with_phone["payload"][0]["extension"]] == example_urls
    assert with_phone["payload"][0]["contentString"] == make_input().text
    # authorContact is 1..1 in CareCommunication 5.0.2: no phone, no message.
    with pytest.raises(ValueError, match="authorContact"):
        build_care_communication(make_input(author_phone=None))


def test_author_is_a_practitioner_role_with_name_and_role_code(examples: Path) -> None:
    example_role = only(load(examples, "cc-01-new-message.json"), "PractitionerRole")

    built = build_care_communication(make_input())
    role = only(built, "PractitionerRole")

    assert role["code"] == example_role["code"]
    practitioner = resolve(built, role["practitioner"]["reference"])
    assert practitioner["name"] == [{"family": "Hansen", "given": ["Anna", "Marie"]}]


@pytest.mark.parametrize("category", ["carecoordination", "discharge"])
def test_category_code_is_set_in_medcoms_category_system(examples: Path, category: str) -> None:
    example = only(load(examples, "cc-04-carecoordination-with-encounter.json"), "Communication")
    (example_coding,) = example["category"][0]["coding"]

    communication = only(build_care_communication(make_input(category=category)), "Communication")

    assert communication["category"] == [
        {"coding": [{"system": example_coding["system"], "code": category}]}
    ]
    if category == "carecoordination":
        assert communication["category"] == example["category"]


def test_unknown_category_is_refused() -> None:
    with pytest.raises(ValueError, match="category"):
        build_care_communication(make_input(category="examination-results-typo"))


def test_link_becomes_an_attachment_payload() -> None:
    communication = only(
        build_care_communication(make_input(link="https://example.org/referat?id=1&v=2")),
        "Communication",
    )

    text_payload, link_payload = communication["payload"]
    assert "contentString" in text_payload
    assert link_payload["contentAttachment"]["url"] == "https://example.org/referat?id=1&v=2"
    assert link_payload["contentAttachment"]["title"]


# --- reliable messaging: resend ---------------------------------------------------------------


def test_resend_keeps_message_header_id_but_uses_a_new_bundle_id() -> None:
    msg = make_input()

    first = build_care_communication(msg)
    resend = build_care_communication(msg)

    assert first["id"] != resend["id"]
    assert only(first, "MessageHeader")["id"] == only(resend, "MessageHeader")["id"]
    assert only(first, "MessageHeader")["id"] == msg.message_header_id
    # Only the envelope changes: the content of a resend is the same message.
    assert first["entry"] == resend["entry"]


def test_given_bundle_id_and_envelope_timestamp_are_used() -> None:
    later = datetime(2024, 6, 1, 12, 5, tzinfo=UTC)

    built = build_care_communication(
        make_input(), "b0b0b0b0-0000-4000-8000-000000000001", timestamp=later
    )

    assert built["id"] == "b0b0b0b0-0000-4000-8000-000000000001"
    assert datetime.fromisoformat(built["timestamp"]) == later
    assert only(built, "Provenance")["occurredDateTime"] == "2024-06-01T13:55:00+02:00"


def test_two_messages_do_not_share_resource_ids() -> None:
    first = build_care_communication(make_input())
    second = build_care_communication(make_input(message_header_id="another-message-1"))

    def ids(bundle: dict[str, Any]) -> set[str]:
        return {e["resource"]["id"] for e in bundle["entry"]}

    assert ids(first).isdisjoint(ids(second))


# --- narrative --------------------------------------------------------------------------------


def test_every_resource_has_an_xhtml_narrative() -> None:
    built = build_care_communication(make_input(link="https://example.org/x"))

    for entry in built["entry"]:
        text = entry["resource"]["text"]
        assert text["status"] in {"generated", "extensions"}
        root = ET.fromstring(text["div"])
        assert root.tag == f"{XHTML}div"
        assert "".join(root.itertext()).strip()


def test_narrative_escapes_script_and_markup_in_user_text() -> None:
    hostile = 'Hej <script>alert("x")</script> & <b>fed</b>'

    built = build_care_communication(
        make_input(
            text=hostile,
            topic="<img src=x onerror=alert(1)>",
            patient=PatientRef(cpr="2509479989", name="Bruno <i>Elmer</i>"),
        )
    )

    for entry in built["entry"]:
        div = entry["resource"]["text"]["div"]
        root = ET.fromstring(div)
        assert "<script" not in div and "<img" not in div and "<i>" not in div
        assert {el.tag for el in root.iter()} <= {f"{XHTML}{t}" for t in ("div", "p", "b", "br")}
    communication_div = only(built, "Communication")["text"]["div"]
    assert "&lt;script&gt;" in communication_div
    assert hostile in "".join(ET.fromstring(communication_div).itertext())
    assert only(built, "Communication")["payload"][0]["contentString"] == hostile


def test_line_breaks_in_text_become_br_in_narrative() -> None:
    div = only(build_care_communication(make_input(text="linje 1\r\nlinje 2")), "Communication")[
        "text"
    ]["div"]

    assert "linje 1<br/>linje 2" in div


# --- input is checked -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"patient": PatientRef(cpr="12345", name="X Y")}, "CPR"),
        ({"sent_at": datetime(2024, 6, 1, 13, 55)}, "timezone"),
        ({"receiver": OrganisationRef("Lægehuset", "953741000016009", None)}, "GLN"),
        ({"sender": OrganisationRef("Afdeling", None, "5790000209354")}, "SOR"),
        ({"receiver": OrganisationRef("Lægehuset", "953741000016009", "5790001348121")}, "check"),
        ({"message_header_id": "not a fhir id!"}, "FHIR id"),
        ({"text": "   "}, "empty"),
        ({"link": "javascript:alert(1)"}, "http"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_care_communication(make_input(**changes))


# --- acknowledgements -------------------------------------------------------------------------


def example_response(example: dict[str, Any]) -> dict[str, Any]:
    return only(example, "MessageHeader")["response"]


def example_reason(example: dict[str, Any]) -> str:
    (issue,) = only(example, "OperationOutcome")["issue"]
    (coding,) = issue["details"]["coding"]
    return coding["code"]


def test_parser_reads_medcoms_ok_acknowledgement(examples: Path) -> None:
    example = load(examples, "ack-01-ok.json")

    ack = parse_acknowledgement(example)

    assert ack == Acknowledgement(
        acknowledged_message_header_id=example_response(example)["identifier"],
        code=example_response(example)["code"],
        detail=None,
    )
    assert ack.code == "ok"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("ack-02-fatal-error.json", "fatal-error"),
        ("ack-03-transient-error.json", "transient-error"),
    ],
)
def test_parser_reads_medcoms_error_acknowledgements_with_reason(
    examples: Path, name: str, code: str
) -> None:
    example = load(examples, name)

    ack = parse_acknowledgement(example)

    assert ack.code == example_response(example)["code"] == code
    assert ack.acknowledged_message_header_id == example_response(example)["identifier"]
    # MedCom's examples give the reason only as an error code (no details.text/diagnostics).
    assert ack.detail == example_reason(example)


def test_parser_prefers_the_reason_text_over_the_code(examples: Path) -> None:
    example = load(examples, "ack-02-fatal-error.json")
    outcome = only(example, "OperationOutcome")
    outcome["issue"][0]["details"]["text"] = "Ukendt CPR-nummer"

    assert parse_acknowledgement(example).detail == "Ukendt CPR-nummer"


@pytest.mark.parametrize(
    ("code", "detail"),
    [
        ("ok", None),
        ("transient-error", "Postkassen er midlertidigt lukket"),
        ("fatal-error", "Ukendt CPR"),
    ],
)
def test_built_acknowledgement_round_trips_through_the_parser(
    code: str, detail: str | None
) -> None:
    ack = build_acknowledgement(
        "7f1c0a52-3d7e-4a51-9a53-2f0f6b1d9c11", code, RECEIVER, SENDER, detail
    )

    assert Bundle.model_validate(ack).model_dump(mode="json") == ack
    assert parse_acknowledgement(ack) == Acknowledgement(
        "7f1c0a52-3d7e-4a51-9a53-2f0f6b1d9c11", code, detail
    )


def test_error_acknowledgement_without_detail_still_explains_itself() -> None:
    ack = build_acknowledgement("msg-1", "fatal-error", RECEIVER, SENDER)

    assert parse_acknowledgement(ack).detail


def test_built_acknowledgement_is_shaped_like_medcoms(examples: Path) -> None:
    example = load(examples, "ack-02-fatal-error.json")
    sor_system, gln_system = identifier_systems(example)

    ack = build_acknowledgement(
        "msg-1",
        "fatal-error",
        RECEIVER,
        SENDER,
        "Ukendt CPR",
        timestamp=datetime(2024, 6, 1, 12, tzinfo=UTC) + timedelta(minutes=1),
    )
    header = only(ack, "MessageHeader")

    assert ack["meta"]["profile"] == example["meta"]["profile"]
    assert {e["resource"]["resourceType"] for e in ack["entry"]} == {
        e["resource"]["resourceType"] for e in example["entry"]
    }
    expected = {
        e["resource"]["resourceType"]: e["resource"]["meta"]["profile"] for e in example["entry"]
    }
    for entry in ack["entry"]:
        assert entry["resource"]["meta"]["profile"] == expected[entry["resource"]["resourceType"]]
    assert header["eventCoding"] == only(example, "MessageHeader")["eventCoding"]
    example_destination = only(example, "MessageHeader")["destination"][0]
    assert header["destination"][0]["extension"] == example_destination["extension"]
    assert resolve(ack, header["sender"]["reference"])["identifier"] == [
        {"system": gln_system, "value": RECEIVER.gln},
        {"system": sor_system, "value": RECEIVER.sor_code},
    ]
    example_activities = {
        p["activity"]["coding"][0]["code"] for p in resources(example, "Provenance")
    }
    assert only(ack, "Provenance")["activity"]["coding"][0]["code"] in example_activities
    assert datetime.fromisoformat(ack["timestamp"]) == datetime(2024, 6, 1, 12, 1, tzinfo=UTC)


def test_ok_acknowledgement_with_detail_is_refused() -> None:
    with pytest.raises(ValueError, match="ok"):
        build_acknowledgement("msg-1", "ok", RECEIVER, SENDER, "all good")


def test_a_care_communication_is_not_an_acknowledgement() -> None:
    with pytest.raises(ValueError, match="not an acknowledgement"):
        parse_acknowledgement(build_care_communication(make_input()))


def test_medcoms_care_communication_example_is_not_an_acknowledgement(examples: Path) -> None:
    with pytest.raises(ValueError, match="acknowledgement-message"):
        parse_acknowledgement(load(examples, "cc-01-new-message.json"))


@pytest.mark.parametrize(
    "not_a_bundle",
    [
        {"resourceType": "Patient", "id": "p1"},
        {"resourceType": "Bundle", "type": "collection", "entry": []},
        {"resourceType": "Bundle", "type": "message", "entry": []},
        {"resourceType": "Bundle", "type": "message", "timestamp": "yesterday"},
    ],
)
def test_other_json_is_not_an_acknowledgement(not_a_bundle: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="not an acknowledgement"):
        parse_acknowledgement(not_a_bundle)


def test_acknowledgement_without_response_is_refused(examples: Path) -> None:
    example = load(examples, "ack-01-ok.json")
    del only(example, "MessageHeader")["response"]

    with pytest.raises(ValueError, match="response"):
        parse_acknowledgement(example)
