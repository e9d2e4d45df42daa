"""The recording object carries every field PostHog's documents name (issue 17, gap 7):
computed or documented defaults for a files source, PostHog's own values passed through
unchanged for a PostHog source. The person is an object for files too (PostHog's stand-in
person), filtered by the same privacy rules as PostHog's persons.

Through the real app; no Temporal (it points at a closed port), since reading recordings
needs only the source and the store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from recap.core.config import Settings
from recap.demo.generator import write_sample_sessions
from recap.embedded.ports import free_port
from recap.store.keys import READ_SCOPE, KeyStore
from recap.store.repository import store_for
from tests.support.api_stack import serve
from tests.support.posthog_double import posthog_double

TEAM = "fields-team"
BASE = f"/api/projects/{TEAM}"
EMAIL_SESSION = "email-person-session"
EMAIL = "ada.lovelace@example.com"

# The recording object of /work/shared/docs/posthog-api 001 (environments: retrieve, list,
# update), plus `storage` from the older page 000, with the JSON types PostHog's serializer
# answers (`None` where its field allows null).
DOCUMENTED: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "distinct_id": (str, type(None)),
    "viewed": (bool,),
    "viewers": (list,),
    "recording_duration": (int,),
    "active_seconds": (int, type(None)),
    "inactive_seconds": (int, type(None)),
    "start_time": (str, type(None)),
    "end_time": (str, type(None)),
    "click_count": (int, type(None)),
    "keypress_count": (int, type(None)),
    "mouse_activity_count": (int, type(None)),
    "console_log_count": (int, type(None)),
    "console_warn_count": (int, type(None)),
    "console_error_count": (int, type(None)),
    "start_url": (str, type(None)),
    "person": (dict,),
    "retention_period_days": (int, type(None)),
    "expiry_time": (str, type(None)),
    "recording_ttl": (int, type(None)),
    "snapshot_source": (str, type(None)),
    "snapshot_library": (str, type(None)),
    "ongoing": (bool,),
    "activity_score": (int, float, type(None)),
    "has_summary": (bool,),
    "summary_outcome": (dict, type(None)),
    "external_references": (list,),
    "matches_filters": (bool,),
    "storage": (str, type(None)),
}
PERSON_FIELDS = {"id", "name", "distinct_ids", "properties", "created_at", "uuid"}
# What the PostHog source answers itself (the rest is recap's summary state).
POSTHOG_FIELDS = set(DOCUMENTED) - {"has_summary", "summary_outcome", "person"}


@dataclass
class Deployment:
    settings: Settings
    token: str
    recordings: Path
    session_ids: list[str]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _write_email_person(directory: Path) -> None:
    """A PostHog export whose person is known only by an email distinct id."""
    events = [
        {"type": 4, "timestamp": 1_700_000_000_000, "data": {"href": "https://shop.example/"}},
        {"type": 3, "timestamp": 1_700_000_004_000, "data": {"source": 2, "type": 2, "id": 1}},
    ]
    document = {
        "version": "2023-04-28",
        "data": {
            "id": EMAIL_SESSION,
            "person": {"distinct_ids": [EMAIL]},
            "snapshots": [{**event, "windowId": "w1"} for event in events],
        },
    }
    (directory / f"{EMAIL_SESSION}.json").write_text(json.dumps(document), encoding="utf-8")


@pytest.fixture
def deployment(tmp_path: Path) -> Deployment:
    recordings = tmp_path / "recordings"
    session_ids = [sample.session_id for sample in write_sample_sessions(recordings, seed=0)]
    _write_email_person(recordings)
    settings = Settings(
        source=f"files:{recordings}",
        database_url=f"sqlite:///{tmp_path / 'recap.db'}",
        data_dir=tmp_path / "data",
        # Nothing listens there: reading recordings needs no Temporal.
        temporal_address=f"127.0.0.1:{free_port()}",
    )
    keys = KeyStore(store_for(settings.resolved_database_url))
    _, token = keys.create(team_id=TEAM, scopes=[READ_SCOPE], label="fields")
    return Deployment(settings, token, recordings, session_ids)


@pytest.fixture
def files_api(deployment: Deployment) -> Iterator[httpx.Client]:
    with (
        serve(deployment.settings) as url,
        httpx.Client(base_url=url, headers=deployment.headers, timeout=30) as http,
    ):
        yield http


def _has_documented_fields(recording: dict[str, Any]) -> None:
    missing = set(DOCUMENTED) - set(recording)
    assert not missing, f"missing documented fields: {sorted(missing)}"
    for name, types in DOCUMENTED.items():
        value = recording[name]
        # JSON has no bool/int distinction in Python's eyes: a bool is no count.
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        assert ok, f"{name} = {value!r} is not one of {types}"
    for name in ("start_time", "end_time", "expiry_time"):
        if recording[name] is not None:
            datetime.fromisoformat(recording[name])
    assert all(isinstance(item, str) for item in recording["viewers"])
    assert all(isinstance(item, dict) for item in recording["external_references"])


def test_a_files_recording_has_every_documented_field(
    files_api: httpx.Client, deployment: Deployment
) -> None:
    session_id = deployment.session_ids[0]
    one = files_api.get(f"{BASE}/session_recordings/{session_id}/")
    listing = files_api.get(f"{BASE}/session_recordings/", params={"limit": 100})
    assert one.status_code == 200, one.text
    assert listing.status_code == 200, listing.text
    listed = listing.json()["results"]
    assert {item["id"] for item in listed} >= {*deployment.session_ids, EMAIL_SESSION}
    for recording in [one.json(), *listed]:
        _has_documented_fields(recording)
        # Documented defaults: a file has no retention period, links no issue, matches
        # the (filterless) listing, and is not in long-term storage.
        assert recording["retention_period_days"] is None
        assert recording["expiry_time"] is None
        assert recording["recording_ttl"] is None
        assert recording["external_references"] == []
        assert recording["matches_filters"] is True
        assert recording["storage"] == "object_storage"
        assert recording["viewers"] == []
        assert recording["snapshot_source"] == "web"


def test_a_files_recording_has_a_stand_in_person_without_properties(
    files_api: httpx.Client, deployment: Deployment
) -> None:
    for session_id in (deployment.session_ids[0], EMAIL_SESSION):
        answer = files_api.get(f"{BASE}/session_recordings/{session_id}/")
        assert answer.status_code == 200, answer.text
        recording = answer.json()
        person = recording["person"]
        assert isinstance(person, dict) and set(person) >= PERSON_FIELDS
        assert recording["distinct_id"]
        assert person["distinct_ids"] == [recording["distinct_id"]]
        # Properties only when the team enables them; this team does not.
        assert person["properties"] is None
        assert person["id"] is None and person["uuid"] is None
    # The name is the distinct id with PII redacted: an email is not shown.
    email = files_api.get(f"{BASE}/session_recordings/{EMAIL_SESSION}/").json()
    assert email["distinct_id"] == EMAIL
    assert email["person"]["name"] and EMAIL not in email["person"]["name"]
    plain = files_api.get(f"{BASE}/session_recordings/{deployment.session_ids[0]}/").json()
    assert plain["person"]["name"] == plain["distinct_id"]  # a uuid: nothing to redact


def test_posthog_values_pass_through_unchanged(deployment: Deployment) -> None:
    session_id = deployment.session_ids[0]
    with posthog_double() as posthog:
        served = posthog.add_file(deployment.recordings / f"{session_id}.json")
        settings = deployment.settings.model_copy(
            update={
                "source": "posthog",
                "posthog_host": posthog.base_url,
                "posthog_project_id": posthog.project_id,
                "posthog_api_key": SecretStr(posthog.api_key),
            }
        )
        with (
            serve(settings) as url,
            httpx.Client(base_url=url, headers=deployment.headers, timeout=30) as http,
        ):
            one = http.get(f"{BASE}/session_recordings/{session_id}/")
            listing = http.get(f"{BASE}/session_recordings/")
    assert one.status_code == 200, one.text
    assert listing.status_code == 200, listing.text
    expected = served.metadata()
    # The double answers what PostHog's documents and serializer name, with values that
    # differ from recap's files defaults where PostHog has them (retention, library).
    assert expected["retention_period_days"] == 30 and expected["snapshot_library"] == "web"
    for recording in (one.json(), *listing.json()["results"]):
        _has_documented_fields(recording)
        for name in sorted(POSTHOG_FIELDS):
            got, want = recording[name], expected[name]
            if name in ("start_time", "end_time", "expiry_time"):
                assert datetime.fromisoformat(got) == datetime.fromisoformat(want), name
            elif name in ("active_seconds", "inactive_seconds"):
                assert got == round(want), name  # documented as integers
            else:
                assert got == want, name
        # PostHog's person, without its properties (the team does not enable them).
        assert recording["person"] == {**expected["person"], "properties": None}
