"""The API's dependencies: what the app holds for its lifetime (`Runtime`), the caller a
request's key authenticates, and the `Annotated` aliases the routes declare them with
(`RuntimeDep`, `StoreDep`, `TeamReader`, `TeamWriter`, `KeyReader`). A key is read where
PostHog reads one: the `Authorization: Bearer` header, a JSON body, the query string."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from recap.api import errors
from recap.api.catalog import RecordingCatalog
from recap.api.models import is_session_id
from recap.api.ratelimit import RateLimiter
from recap.core.config import Settings
from recap.jobs import client as jobs
from recap.store.keys import READ_SCOPE, WRITE_SCOPE, ApiKey, KeyStore
from recap.store.repository import SummaryStore


@dataclass
class Runtime:
    """What the app holds for its lifetime: the store, keys, limits, Temporal."""

    settings: Settings
    store: SummaryStore
    keys: KeyStore
    limiter: RateLimiter
    # Failed authentications, per client address: guessing keys costs time.
    auth_failures: RateLimiter
    catalog: RecordingCatalog
    _temporal: jobs.TemporalClient | None = None
    _connecting: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def temporal(self) -> jobs.TemporalClient:
        """The Temporal client, connected on first use: the API starts (and answers
        /healthz) while Temporal is down, and a request that needs it answers 503."""
        async with self._connecting:
            if self._temporal is None:
                try:
                    self._temporal = await jobs.connect(self.settings)
                except ConnectionError as error:
                    raise errors.unavailable("Temporal", error) from None
            return self._temporal


@dataclass(frozen=True)
class Caller:
    """Who is asking: the key the request authenticated with, and the team it speaks for."""

    key: ApiKey
    team_id: str


def runtime(request: Request) -> Runtime:
    value: Runtime = request.app.state.runtime
    return value


def store(request: Request) -> SummaryStore:
    return runtime(request).store


bearer = HTTPBearer(
    auto_error=False,
    description="a recap key (`recap keys create`); as in PostHog, `personal_api_key` in a"
    " JSON body or the query string is read when there is no header",
)

# PostHog's name for a key sent in a JSON body or the query string.
KEY_FIELD = "personal_api_key"


async def _presented_key(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> str | None:
    """The key a request presents, where PostHog looks for one and in its order: the
    `Authorization: Bearer` header, then `personal_api_key` in a JSON body, then in the
    query string. None when there is none."""
    if credentials is not None and credentials.credentials:
        return credentials.credentials
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        # Starlette caches the body, so the route still reads it; BodyLimit has already
        # refused one over RECAP_API_MAX_BODY_BYTES.
        try:
            document = json.loads(await request.body())
        except (ValueError, RecursionError):
            document = None  # the route answers the parse error
        if isinstance(document, dict):
            value = document.get(KEY_FIELD)
            if isinstance(value, str) and value:
                return value
    value = request.query_params.get(KEY_FIELD)
    return value or None


async def _authenticated(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> ApiKey:
    """The live key of the request, counted against its rate limit. An address that failed
    too often is answered 429 before any key it sends is looked at."""
    token = await _presented_key(request, credentials)
    if token is None:
        raise errors.unauthenticated()
    state = runtime(request)
    address = request.client.host if request.client else "unknown"
    blocked = state.auth_failures.waiting(address)
    if blocked is not None:
        raise errors.throttled(blocked)
    key = await asyncio.to_thread(state.keys.authenticate, token)
    if key is None:
        wait = state.auth_failures.check(address)
        if wait is not None:
            raise errors.throttled(wait)
        raise errors.authentication_failed()
    wait = state.limiter.check(key.id)
    if wait is not None:
        raise errors.throttled(wait)
    # The request log names the key (never the secret).
    request.state.key_id = key.id
    return key


def team_caller(scope: str) -> Callable[..., Awaitable[Caller]]:
    """The dependency of a team endpoint: a live key of this team with `scope`.

    Another team's project answers 404 before the scope is looked at, so a key learns
    nothing about teams it does not belong to."""

    async def dependency(
        request: Request,
        project_id: str,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Caller:
        key = await _authenticated(request, credentials)
        if key.team_id != project_id:
            raise errors.not_found()
        if not key.allows(scope):
            raise errors.forbidden(scope)
        return Caller(key=key, team_id=project_id)

    return dependency


def key_caller(scope: str) -> Callable[..., Awaitable[Caller]]:
    """The dependency of an endpoint outside a project: a live key with `scope`, speaking
    for its own team."""

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Caller:
        key = await _authenticated(request, credentials)
        if not key.allows(scope):
            raise errors.forbidden(scope)
        return Caller(key=key, team_id=key.team_id)

    return dependency


def path_session_id(recording_id: str) -> str:
    """The recording id of a path, or 404. Routes call it in their body, after the key is
    checked, so a caller without a valid key learns nothing from the id's shape."""
    if not is_session_id(recording_id):
        raise errors.not_found()
    return recording_id


RuntimeDep = Annotated[Runtime, Depends(runtime)]
StoreDep = Annotated[SummaryStore, Depends(store)]
TeamReader = Annotated[Caller, Depends(team_caller(READ_SCOPE))]
TeamWriter = Annotated[Caller, Depends(team_caller(WRITE_SCOPE))]
KeyReader = Annotated[Caller, Depends(key_caller(READ_SCOPE))]
