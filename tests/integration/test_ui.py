"""recap's pages for people (issue 19): `recap users`, sign-in with a password or a recap
key, the session cookie and its flags, CSRF, throttling, and the team's recordings page,
served by uvicorn and read over HTTP with httpx. No Temporal: the pages read a files
source and the store."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from typer.testing import CliRunner

from recap.api.ui.common import SESSION_COOKIE, SIGN_IN_COOKIE, safe_next
from recap.api.ui.cookies import CookieSigner, cookie_key
from recap.cli.users import users_app
from recap.core.config import Settings, get_settings
from recap.demo.generator import write_sample_sessions
from recap.embedded.ports import free_port
from recap.services.summary import store_summary
from recap.store.keys import READ_SCOPE, WRITE_SCOPE, KeyStore
from recap.store.repository import SummaryStore, store_for
from recap.store.users import UserStore
from tests.support.api_stack import serve
from tests.support.store_samples import summary

runner = CliRunner()
PASSWORD = "correct horse battery"
TITLE = "Buys a lamp after two tries"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Deployment:
    settings: Settings
    store: SummaryStore
    users: UserStore
    session_ids: list[str]
    user_ids: dict[str, str]
    tokens: dict[str, str]


def _deployment(tmp_path: Path, **overrides: Any) -> Deployment:
    recordings = tmp_path / "recordings"
    session_ids = [sample.session_id for sample in write_sample_sessions(recordings, seed=0)]
    settings = Settings(
        source=f"files:{recordings}",
        database_url=f"sqlite:///{tmp_path / 'recap.db'}",
        data_dir=tmp_path / "data",
        temporal_address=f"127.0.0.1:{free_port()}",
        **overrides,
    )
    store = store_for(settings.resolved_database_url)
    store_summary(team_id="team-a", summary=summary(TITLE, session_id=session_ids[0]), store=store)
    users = UserStore(store)
    user_ids = {
        "a": users.create(team_id="team-a", email="Ada@Example.com", password=PASSWORD).id,
        "a-read": users.create(
            team_id="team-a", email="reader@example.com", password=PASSWORD, can_write=False
        ).id,
        "b": users.create(team_id="team-b", email="bo@example.com", password=PASSWORD).id,
    }
    keys = KeyStore(store)
    tokens = {
        "read": keys.create(team_id="team-a", scopes=[READ_SCOPE])[1],
        "rw": keys.create(team_id="team-a", scopes=[READ_SCOPE, WRITE_SCOPE])[1],
    }
    return Deployment(settings, store, users, session_ids, user_ids, tokens)


@pytest.fixture
def deployment(tmp_path: Path) -> Deployment:
    return _deployment(tmp_path)


@pytest.fixture
def http(deployment: Deployment) -> Iterator[httpx.Client]:
    with (
        serve(deployment.settings) as url,
        httpx.Client(base_url=url, follow_redirects=False, timeout=20) as client,
    ):
        yield client


def _sign_in(http: httpx.Client, **fields: str) -> httpx.Response:
    form = http.get("/ui/sign-in")
    assert form.status_code == 200, form.text
    token = _CSRF.search(form.text)
    assert token is not None
    return http.post("/ui/sign-in", data={"csrf_token": token.group(1), **fields})


def _session_token(deployment: Deployment, http: httpx.Client) -> str:
    signer = CookieSigner(cookie_key(deployment.settings))
    token = signer.unsign(http.cookies.get(SESSION_COOKIE))
    assert token is not None
    return token


# `recap users`


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli' / 'recap.db'}"
    monkeypatch.setenv("RECAP_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("RECAP_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_cli_creates_lists_and_disables_users_without_keeping_a_password(
    cli_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADA_PASSWORD", PASSWORD)
    created = runner.invoke(
        users_app,
        [
            "create",
            "--team",
            "acme",
            "--email",
            " Ada@Example.COM ",
            "--password-env",
            "ADA_PASSWORD",
        ],
    )
    assert created.exit_code == 0, created.output
    assert "ada@example.com" in created.output and PASSWORD not in created.output
    # Asked twice without echo when no variable is named.
    prompted = runner.invoke(
        users_app,
        ["create", "--team", "acme", "--email", "bo@example.com", "--read-only"],
        input="another secret 1\nanother secret 1\n",
    )
    assert prompted.exit_code == 0, prompted.output
    assert "another secret 1" not in prompted.output
    # One address is one person per team, whatever its case.
    again = runner.invoke(
        users_app,
        [
            "create",
            "--team",
            "acme",
            "--email",
            "ADA@example.com",
            "--password-env",
            "ADA_PASSWORD",
        ],
    )
    assert again.exit_code == 2 and "already" in again.output
    short = runner.invoke(
        users_app, ["create", "--team", "acme", "--email", "c@example.com"], input="short\nshort\n"
    )
    assert short.exit_code == 2 and "8 to 1024" in short.output

    listed = json.loads(runner.invoke(users_app, ["list", "--team", "acme", "--json"]).stdout)
    assert [(u["email"], u["can_write"], u["disabled_at"]) for u in listed] == [
        ("ada@example.com", True, None),
        ("bo@example.com", False, None),
    ]
    store = SummaryStore(cli_db)
    with store.engine.connect() as connection:
        rows = connection.execute(text("SELECT id, password_hash FROM users ORDER BY email"))
        hashes = dict(rows.all())
        dump = "\n".join(str(row) for row in connection.execute(text("SELECT * FROM users")))
    assert PASSWORD not in dump and "another secret 1" not in dump
    ada_hash = hashes[listed[0]["id"]]
    assert ada_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(ada_hash, PASSWORD)
    assert UserStore(store).authenticate("ada@example.com", PASSWORD) is not None
    assert "ada@example.com" in runner.invoke(users_app, ["list"]).output

    disabled = runner.invoke(users_app, ["disable", listed[0]["id"]])
    assert disabled.exit_code == 0, disabled.output
    assert runner.invoke(users_app, ["disable", listed[0]["id"]]).exit_code == 1
    assert UserStore(store).authenticate("ada@example.com", PASSWORD) is None
    after = json.loads(runner.invoke(users_app, ["list", "--json"]).stdout)
    assert after[0]["disabled_at"] is not None and after[1]["disabled_at"] is None


# Signing in


def test_sign_in_sets_a_session_cookie_and_shows_the_teams_recordings(
    deployment: Deployment, http: httpx.Client
) -> None:
    form = http.get("/ui/sign-in")
    assert '<label for="email">' in form.text and '<label for="password">' in form.text
    assert "default-src 'self'" in form.headers["content-security-policy"]
    answer = _sign_in(http, email="ada@example.com", password=PASSWORD)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/ui/team-a/sessions"
    cookie = next(
        value
        for value in answer.headers.get_list("set-cookie")
        if value.startswith(f"{SESSION_COOKIE}=")
    )
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=lax", "path=/ui"} <= flags
    assert "secure" not in flags  # plain http on loopback, no https public URL
    # The cookie holds a session id, never the password.
    assert PASSWORD.split()[0] not in cookie

    page = http.get("/ui/team-a/sessions")
    assert page.status_code == 200, page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for session_id in deployment.session_ids:
        assert session_id in page.text
    assert TITLE in page.text and "success" in page.text
    assert f"{len(deployment.session_ids)} recordings" in page.text
    home = http.get("/ui/")
    assert (home.status_code, home.headers["location"]) == (303, "/ui/team-a/sessions")


def test_the_cookie_is_secure_when_the_public_url_is_https(tmp_path: Path) -> None:
    deployment = _deployment(tmp_path, api_public_url="https://recap.example")
    with (
        serve(deployment.settings) as url,
        httpx.Client(base_url=url, follow_redirects=False) as http,
    ):
        form = http.get("/ui/sign-in")
        # httpx sends no Secure cookie over plain http; the test sends it back itself.
        signed = form.cookies[SIGN_IN_COOKIE]
        assert "secure" in form.headers["set-cookie"].lower()
        csrf = _CSRF.search(form.text)
        assert csrf is not None
        answer = http.post(
            "/ui/sign-in",
            data={"csrf_token": csrf.group(1), "email": "ada@example.com", "password": PASSWORD},
            headers={"Cookie": f"{SIGN_IN_COOKIE}={signed}"},
        )
    assert answer.status_code == 303, answer.text
    cookie = next(
        value
        for value in answer.headers.get_list("set-cookie")
        if value.startswith(f"{SESSION_COOKIE}=")
    )
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


def test_a_wrong_password_and_an_unknown_email_answer_alike(http: httpx.Client) -> None:
    wrong = _sign_in(http, email="ada@example.com", password="not the password")
    unknown = _sign_in(http, email="nobody@example.com", password="not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "did not sign you in" in wrong.text
    assert wrong.text.replace("ada@example.com", "") == unknown.text.replace(
        "nobody@example.com", ""
    )
    assert SESSION_COOKIE not in http.cookies
    assert http.get("/ui/team-a/sessions").status_code == 303


def test_sign_in_is_throttled_after_repeated_failures(tmp_path: Path) -> None:
    deployment = _deployment(tmp_path, api_auth_failures_per_minute=3)
    with (
        serve(deployment.settings) as url,
        httpx.Client(base_url=url, follow_redirects=False) as http,
    ):
        answers = [
            _sign_in(http, email="ada@example.com", password=f"wrong {n}").status_code
            for n in range(3)
        ]
        assert answers == [401, 401, 401]
        refused = _sign_in(http, email="ada@example.com", password="wrong again")
        assert refused.status_code == 429
        assert "Too many sign-in attempts" in refused.text and "Retry-After" in refused.headers
        # While throttled, even the right password is not looked at.
        assert _sign_in(http, email="ada@example.com", password=PASSWORD).status_code == 429


def test_sign_in_is_throttled_per_email_across_addresses(tmp_path: Path) -> None:
    deployment = _deployment(tmp_path, api_auth_failures_per_minute=3)
    with (
        serve(deployment.settings) as url,
        httpx.Client(base_url=url, follow_redirects=False) as http,
    ):
        # uvicorn trusts X-Forwarded-For from loopback: each attempt comes from elsewhere.
        for n in range(3):
            http.headers["X-Forwarded-For"] = f"192.0.2.{n + 1}"
            assert _sign_in(http, email="ADA@example.com", password="wrong").status_code == 401
        http.headers["X-Forwarded-For"] = "192.0.2.10"
        assert _sign_in(http, email="ada@example.com", password=PASSWORD).status_code == 429
        # Another person, from a fresh address, is not held up.
        http.headers["X-Forwarded-For"] = "192.0.2.11"
        assert _sign_in(http, email="reader@example.com", password=PASSWORD).status_code == 303


def test_sign_in_without_its_csrf_token_is_refused(http: httpx.Client) -> None:
    answer = http.post("/ui/sign-in", data={"email": "ada@example.com", "password": PASSWORD})
    assert answer.status_code == 403
    assert "security token" in answer.text
    assert SESSION_COOKIE not in http.cookies


# Which pages a person sees


def test_another_teams_pages_answer_404(http: httpx.Client) -> None:
    assert _sign_in(http, email="ada@example.com", password=PASSWORD).status_code == 303
    other = http.get("/ui/team-b/sessions")
    unknown = http.get("/ui/no-such-team/sessions")
    assert other.status_code == unknown.status_code == 404
    assert other.text == unknown.text
    assert "team-b" not in other.text


def test_not_signed_in_redirects_to_sign_in_with_a_safe_next(http: httpx.Client) -> None:
    answer = http.get("/ui/team-a/sessions")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/sign-in?next=/ui/team-a/sessions"
    assert http.get("/ui/").headers["location"] == "/ui/sign-in"
    # An absolute `next` is dropped from the form and ignored when posted.
    form = http.get("/ui/sign-in", params={"next": "https://evil.example/"})
    assert "evil.example" not in form.text
    for outside in ("https://evil.example", "//evil.example/ui/", "/\\evil.example"):
        signed = _sign_in(http, email="ada@example.com", password=PASSWORD, next=outside)
        assert signed.headers["location"] == "/ui/team-a/sessions", outside
    kept = _sign_in(
        http, email="ada@example.com", password=PASSWORD, next="/ui/team-a/sessions?page=1"
    )
    assert kept.headers["location"] == "/ui/team-a/sessions?page=1"


def test_only_local_ui_paths_are_safe_next_targets() -> None:
    assert safe_next("/ui/team-a/sessions") == "/ui/team-a/sessions"
    for unsafe in (
        None,
        "",
        "https://evil.example/ui/",
        "//evil.example/ui/",
        "/\\evil.example",
        "/api/projects/x/",
        "/ui/../api/",
        "javascript:alert(1)",
        "/ui/x\r\nSet-Cookie: a=b",
    ):
        assert safe_next(unsafe) is None, unsafe


# Ending sessions


def test_sign_out_needs_its_csrf_token_and_ends_the_session(
    deployment: Deployment, http: httpx.Client
) -> None:
    assert _sign_in(http, email="ada@example.com", password=PASSWORD).status_code == 303
    cookie = http.cookies[SESSION_COOKIE]
    page = http.get("/ui/team-a/sessions")
    csrf = _CSRF.search(page.text)
    assert csrf is not None
    missing = http.post("/ui/sign-out")
    wrong = http.post("/ui/sign-out", data={"csrf_token": csrf.group(1)[::-1]})
    assert missing.status_code == wrong.status_code == 403
    assert "security token" in missing.text
    assert http.get("/ui/team-a/sessions").status_code == 200  # still signed in

    out = http.post("/ui/sign-out", data={"csrf_token": csrf.group(1)})
    assert (out.status_code, out.headers["location"]) == (303, "/ui/sign-in")
    # The old cookie, sent again, no longer signs anyone in.
    http.cookies.clear()
    http.cookies.set(SESSION_COOKIE, cookie)
    assert http.get("/ui/team-a/sessions").status_code == 303


def test_disabling_a_user_ends_their_sessions(deployment: Deployment, http: httpx.Client) -> None:
    assert _sign_in(http, email="ada@example.com", password=PASSWORD).status_code == 303
    assert http.get("/ui/team-a/sessions").status_code == 200
    assert deployment.users.disable(deployment.user_ids["a"]) is True
    answer = http.get("/ui/team-a/sessions")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/ui/sign-in")
    assert _sign_in(http, email="ada@example.com", password=PASSWORD).status_code == 401


def test_a_forged_cookie_signs_nobody_in(deployment: Deployment, http: httpx.Client) -> None:
    assert _sign_in(http, email="ada@example.com", password=PASSWORD).status_code == 303
    token = _session_token(deployment, http)
    http.cookies.clear()
    http.cookies.set(SESSION_COOKIE, f"{token}.not-the-mac")
    assert http.get("/ui/team-a/sessions").status_code == 303


# Signing in with a recap key, and what a session may do


def test_a_key_sign_in_acts_with_the_keys_scopes(
    deployment: Deployment, http: httpx.Client
) -> None:
    answer = _sign_in(http, key=deployment.tokens["read"])
    assert (answer.status_code, answer.headers["location"]) == (303, "/ui/team-a/sessions")
    assert deployment.session_ids[0] in http.get("/ui/team-a/sessions").text
    session = deployment.users.session(_session_token(deployment, http))
    assert session is not None and session.key_id is not None and session.user_id is None
    assert session.scopes == {READ_SCOPE}
    assert session.allows(READ_SCOPE) and not session.allows(WRITE_SCOPE)
    # Revoking the key ends the sessions it opened.
    assert KeyStore(deployment.store).revoke(session.key_id)
    assert http.get("/ui/team-a/sessions").status_code == 303

    http.cookies.clear()
    assert _sign_in(http, key=deployment.tokens["rw"]).status_code == 303
    writer = deployment.users.session(_session_token(deployment, http))
    assert writer is not None and writer.allows(WRITE_SCOPE)
    http.cookies.clear()
    assert _sign_in(http, key="rck_000000000000_" + "x" * 43).status_code == 401


def test_a_read_only_person_cannot_write(deployment: Deployment, http: httpx.Client) -> None:
    assert _sign_in(http, email="reader@example.com", password=PASSWORD).status_code == 303
    reader = deployment.users.session(_session_token(deployment, http))
    assert reader is not None and reader.user_id == deployment.user_ids["a-read"]
    assert reader.allows(READ_SCOPE) and not reader.allows(WRITE_SCOPE)
    http.cookies.clear()
    assert _sign_in(http, email="ada@example.com", password=PASSWORD).status_code == 303
    writer = deployment.users.session(_session_token(deployment, http))
    assert writer is not None and writer.allows(WRITE_SCOPE)


def test_the_pages_stay_out_of_the_openapi_document(http: httpx.Client) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith("/ui")]
    css = http.get("/ui/static/recap.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "prefers-color-scheme: dark" in css.text


def test_signing_in_again_ends_the_session_the_browser_held(http: httpx.Client) -> None:
    assert _sign_in(http, email="ada@example.com", password=PASSWORD).status_code == 303
    first = http.cookies[SESSION_COOKIE]
    assert _sign_in(http, email="reader@example.com", password=PASSWORD).status_code == 303
    assert http.cookies[SESSION_COOKIE] != first
    assert http.get("/ui/team-a/sessions").status_code == 200
    http.cookies.clear()
    http.cookies.set(SESSION_COOKIE, first)
    assert http.get("/ui/team-a/sessions").status_code == 303


def test_a_team_without_a_source_gets_a_page_that_says_so(tmp_path: Path) -> None:
    # Only team-a reads the deployment's source: team-b has none of its own.
    deployment = _deployment(tmp_path, source_teams="team-a")
    with (
        serve(deployment.settings) as url,
        httpx.Client(base_url=url, follow_redirects=False, timeout=30) as http,
    ):
        assert _sign_in(http, email="bo@example.com", password=PASSWORD).status_code == 303
        answer = http.get("/ui/team-b/sessions")
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("text/html")
    assert "Recordings unavailable" in answer.text and "no recording source" in answer.text
