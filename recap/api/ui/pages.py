"""Signing in to recap's pages (a person's email and password, or a recap key) and out,
and the pages' shared state. Every form that changes something carries a CSRF token,
checked on POST; failed sign-ins are throttled per address and per email."""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta
from importlib.resources import files
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape

from recap.api.deps import Runtime
from recap.api.ratelimit import RateLimiter, RateLimits
from recap.api.ui.common import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    UiState,
    client_address,
    cookie_flags,
    csrf_refused,
    not_found,
    page,
    problem,
    read_form,
    redirect,
    safe_next,
    signed_in,
    tokens_match,
    ui_state,
)
from recap.api.ui.cookies import CookieSigner, cookie_key
from recap.core.logging import get_logger
from recap.store.users import UserStore

log = get_logger(__name__)

SESSION_LIFETIME = timedelta(hours=12)
_CSS = files("recap.api.ui").joinpath("static", "recap.css").read_bytes()
_FAVICON = files("recap.api.ui").joinpath("static", "favicon.svg").read_bytes()
_SIGN_IN_FAILED = "Those details did not sign you in. Check them and try again."


def install(app: FastAPI, runtime: Runtime) -> None:
    """Adds the pages to `app`, left out of its OpenAPI document."""
    settings = runtime.settings
    environment = Environment(
        loader=PackageLoader("recap.api.ui", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    app.state.ui = UiState(
        settings=settings,
        store=runtime.store,
        users=UserStore(runtime.store),
        keys=runtime.keys,
        catalog=runtime.catalog,
        signer=CookieSigner(cookie_key(settings)),
        failures=RateLimiter(
            RateLimits(
                burst_per_minute=settings.api_auth_failures_per_minute,
                sustained_per_hour=settings.api_auth_failures_per_hour,
            )
        ),
        templates=Jinja2Templates(env=environment),
        runtime=runtime,
    )
    app.include_router(_router())
    app.state.page_not_found = unknown_page


def _router() -> APIRouter:
    routes = APIRouter(prefix="/ui", include_in_schema=False)
    routes.add_api_route("/", home, methods=["GET"])
    routes.add_api_route("/sign-in", sign_in_form, methods=["GET"])
    routes.add_api_route("/sign-in", sign_in, methods=["POST"])
    routes.add_api_route("/sign-out", sign_out, methods=["POST"])
    routes.add_api_route("/static/recap.css", stylesheet, methods=["GET"])
    routes.add_api_route("/static/favicon.svg", favicon, methods=["GET"])
    return routes


# Routes


async def home(request: Request) -> Response:
    """`/ui/`: the signed-in team's recordings, or the sign-in form."""
    session, _ = await signed_in(request)
    if session is None:
        return redirect("/ui/sign-in")
    return redirect(f"/ui/{quote(session.team_id)}/sessions")


async def stylesheet() -> Response:
    return Response(
        _CSS,
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


async def favicon() -> Response:
    return Response(
        _FAVICON,
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


async def unknown_page(request: Request) -> Response:
    """The page for a path under `/ui/` that nothing serves (the app's 404 handler asks)."""
    session, _ = await signed_in(request)
    return not_found(request, session)


async def sign_in_form(request: Request) -> Response:
    return _sign_in_page(request, next_path=safe_next(request.query_params.get("next")))


def _sign_in_page(
    request: Request,
    *,
    next_path: str | None,
    error: str | None = None,
    status: int = 200,
    email: str = "",
) -> Response:
    ui = ui_state(request)
    # The same token while the browser keeps its cookie: a second tab's form still works.
    token = ui.signer.unsign(request.cookies.get(SIGN_IN_COOKIE)) or secrets.token_urlsafe(32)
    response = page(
        request,
        "sign_in.html",
        {"csrf_token": token, "next": next_path, "error": error, "email": email},
        status=status,
    )
    response.set_cookie(SIGN_IN_COOKIE, ui.signer.sign(token), **cookie_flags(request))
    return response


async def sign_in(request: Request) -> Response:
    """A person's email and password, or a recap key: a session and a redirect to `next`
    (a page of this site only) or the team's recordings."""
    ui = ui_state(request)
    form = await read_form(request)
    expected = ui.signer.unsign(request.cookies.get(SIGN_IN_COOKIE))
    if not tokens_match(form.get("csrf_token"), expected):
        return csrf_refused(request)
    next_path = safe_next(form.get("next"))
    email = form.get("email", "").strip()
    key_token = form.get("key", "").strip()
    address = client_address(request)
    # Throttled callers are refused before anything they send is checked.
    throttled = [f"address:{address}"] + ([f"email:{email.lower()}"] if email else [])
    if any(ui.failures.waiting(name) is not None for name in throttled):
        return _too_many(request)
    if key_token:
        key = await asyncio.to_thread(ui.keys.authenticate, key_token)
        if key is not None:
            return await _start(
                request, next_path, team_id=key.team_id, scopes=key.scopes, key_id=key.id
            )
    elif email:
        user = await asyncio.to_thread(ui.users.authenticate, email, form.get("password", ""))
        if user is not None:
            return await _start(
                request, next_path, team_id=user.team_id, scopes=user.scopes, user_id=user.id
            )
    waits = [ui.failures.check(name) for name in throttled]
    log.info("ui sign-in failed", client=address, with_key=bool(key_token))
    if any(wait is not None for wait in waits):
        return _too_many(request)
    return _sign_in_page(
        request, next_path=next_path, error=_SIGN_IN_FAILED, status=401, email=email
    )


async def _start(
    request: Request, next_path: str | None, *, team_id: str, scopes: frozenset[str], **who: str
) -> Response:
    ui = ui_state(request)
    # A session the browser held before is ended, not kept beside the new one.
    previous = ui.signer.unsign(request.cookies.get(SESSION_COOKIE))
    if previous is not None:
        await asyncio.to_thread(ui.users.end_session, previous)
    token, _ = await asyncio.to_thread(
        lambda: ui.users.start_session(
            team_id=team_id, scopes=scopes, lifetime=SESSION_LIFETIME, **who
        )
    )
    response = redirect(next_path or f"/ui/{quote(team_id)}/sessions")
    response.set_cookie(
        SESSION_COOKIE,
        ui.signer.sign(token),
        max_age=int(SESSION_LIFETIME.total_seconds()),
        **cookie_flags(request),
    )
    response.delete_cookie(SIGN_IN_COOKIE, path="/ui")
    return response


def _too_many(request: Request) -> Response:
    response = problem(
        request,
        429,
        "Too many sign-in attempts",
        "Sign-in is paused for this address or email after several failed attempts."
        " Wait a few minutes, then try again.",
    )
    response.headers["Retry-After"] = "60"
    return response


async def sign_out(request: Request) -> Response:
    ui = ui_state(request)
    session, token = await signed_in(request)
    form = await read_form(request)
    if session is None or token is None:
        # Nothing to end; a form without a session has no token that could match.
        return csrf_refused(request)
    if not tokens_match(form.get("csrf_token"), session.csrf_token):
        return csrf_refused(request, session)
    await asyncio.to_thread(ui.users.end_session, token)
    response = redirect("/ui/sign-in")
    response.delete_cookie(SESSION_COOKIE, path="/ui")
    return response
