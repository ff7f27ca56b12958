"""Saving the minutes from the web form changes nothing nobody changed: every field, and every
action item's owner (the GP practice included), survives a round trip through the form."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tests.support.meetings import held_meeting, org_participant


class FormFields(HTMLParser):
    """The fields of one form as a browser would submit them (inputs, textareas, selects)."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.fields: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None
        self.options: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and a.get("type") not in ("submit", "checkbox") and "name" in a:
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields[a["name"]] = ""
        elif tag == "select":
            self._select = a["name"]
            self.fields[a["name"]] = ""
            self.options[a["name"]] = []
        elif tag == "option" and self._select:
            self.options[self._select].append(a.get("value", ""))
            if "selected" in a:
                self.fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data


def form_of(html: str) -> FormFields:
    parser = FormFields("minutes-form")
    parser.feed(html)
    return parser


@pytest.fixture
def nurse(make_web_user):
    user = make_web_user()
    user.login()
    return user


def test_every_field_and_owner_survives_saving_the_draft_from_the_web(
    nurse, make_patient, make_org, municipality
):
    gp = make_org("gp_practice", name="Lægehuset")
    ward = make_org("hospital_department", name="Afsnit P3")
    patient = make_patient(nurse=nurse.actor, gp=gp)  # the GP is not in the care team
    kbh = municipality("0101")
    meeting = held_meeting(nurse.actor, patient.id, [org_participant(ward.id)])
    items = [
        {"description": "Blodprøver og EKG", "responsible_organisation_id": gp.id,
         "person": "Dr. Berg", "due_date": "2026-12-01"},
        {"description": "Bostøtte", "responsible_organisation_id": kbh.id, "person": None,
         "due_date": None},
        {"description": "Medicingennemgang", "responsible_organisation_id": ward.id,
         "person": "Overlæge", "due_date": "2026-12-15"},
        {"description": "Ring til moren", "responsible_organisation_id": None, "person": None,
         "due_date": "2026-12-03"},
    ]  # fmt: skip
    r = nurse.actor.post(
        f"/api/v1/meetings/{meeting['id']}/minutes",
        json={"summary": "Status:\nstabil", "decisions": "Fortsat plan", "action_items": items},
    )
    assert r.status_code == 201, r.json
    before = r.json

    url = f"/meetings/{meeting['id']}"
    form = form_of(nurse.client.get(url).get_data(as_text=True))
    # The GP practice can own an item although it is not in the care team.
    assert str(gp.id) in form.options["item-0-organisation"]
    saved = nurse.client.post(f"{url}/minutes/1", data={**form.fields, "do": "save"})
    assert saved.status_code == 303, saved.get_data(as_text=True)

    after = nurse.actor.get(f"/api/v1/meetings/{meeting['id']}/minutes/1").json
    assert after["summary"] == before["summary"]
    assert after["decisions"] == before["decisions"]
    fields = ("description", "responsible_organisation_id", "person", "due_date", "status")
    assert [{k: i[k] for k in fields} for i in after["action_items"]] == [
        {k: i[k] for k in fields} for i in before["action_items"]
    ]
    assert after["updated_at"] != before["updated_at"]  # it was saved, not skipped
