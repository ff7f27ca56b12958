"""A date typed into a web form lies in the same plausible window the API takes."""

from sqlalchemy import func, select

from bridge.domain.meetings.models import NetworkMeeting


def test_a_meeting_in_the_year_445_is_refused_and_nothing_is_stored(
    make_web_user, make_patient, session
):
    nurse = make_web_user()
    nurse.login()
    patient = make_patient(nurse=nurse.actor)
    before = session.scalar(select(func.count()).select_from(NetworkMeeting))
    r = nurse.post(
        f"/patients/{patient.id}/meetings",
        {"date": "0445-03-01", "start": "10:00", "end": "11:00", "participant": "patient"},
        token_from=f"/patients/{patient.id}/meetings/new",
    )
    assert r.status_code == 422
    assert "Vælg en dato mellem 2000-01-01 og 2100-12-31." in r.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(NetworkMeeting)) == before
