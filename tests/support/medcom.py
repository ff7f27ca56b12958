"""MedCom's own example messages, beside the repository (../shared), not in it: tests that need
them skip in a clone without them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

# MedCom's own example messages lie beside the repository (../shared), not in it.
# BRIDGE_SHARED_DIR names it for a checkout elsewhere (a git worktree).
SHARED = Path(
    os.environ.get("BRIDGE_SHARED_DIR") or Path(__file__).resolve().parents[2].parent / "shared"
)


MEDCOM_EXAMPLES = SHARED / "medcom-examples"


def medcom_example(name: str) -> dict:
    """One of MedCom's example messages, parsed; the test is skipped in a clone without them."""
    path = MEDCOM_EXAMPLES / name
    if not path.is_file():
        pytest.skip(f"MedCom example message not found at {path}")
    return json.loads(path.read_text(encoding="utf-8"))


URL = "/api/v1/fhir/$process-message"
FHIR = "application/fhir+json"
#: The CPR number in MedCom's examples, and the SOR code and GLN of their hospital sender.
EXAMPLE_CPR = "2509479989"
HOSPITAL_SOR, HOSPITAL_GLN = "265161000016000", "5790000209354"


def rewritten(name: str, cpr: str) -> dict:
    """A MedCom example with its patient's CPR replaced by one of the test database."""
    return json.loads(json.dumps(medcom_example(name)).replace(EXAMPLE_CPR, cpr))


def post(actor, bundle):
    """Post a Bundle to the inbound FHIR door as ``actor``'s organisation."""
    return actor.client.post(
        URL, data=json.dumps(bundle), headers=actor.headers({"Content-Type": FHIR})
    )


def from_hospital_sender(bundle: dict) -> dict:
    """``bundle`` with its sender Organization given the SOR code and GLN of the hospital in
    MedCom's other examples (cc-05's sender has its own), so one system account sends them all."""
    sender = bundle["entry"][0]["resource"]["sender"]["reference"].split("/")[1]
    for entry in bundle["entry"]:
        r = entry["resource"]
        if r["resourceType"] == "Organization" and r["id"] == sender:
            r["identifier"] = [
                {"system": "https://www.gs1.org/gln", "value": HOSPITAL_GLN},
                {"system": "urn:oid:1.2.208.176.1.1", "value": HOSPITAL_SOR},
            ]
    return bundle
