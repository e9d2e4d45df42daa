"""The routes of recap's pages: sign-in (a person's email and password, or a recap key),
sign-out, and the team's recordings. A person sees their own team only; another team's
pages answer 404, as the API does. Every form that changes something carries a CSRF
token, checked on POST."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape

from recap.api.catalog import RecordingCatalog
from recap.api.deps import Runtime
from recap.api.ratelimit import RateLimiter, RateLimits
from recap.api.ui.cookies import CookieSigner, cookie_key, served_over_https
from recap.core.config import Settings
from recap.core.logging import get_logger
from recap.store.keys import KeyStore
from recap.store.repository import SummaryStore
from recap.store.users import UiSession, UserStore

log = get_logger(__name__)

SESSION_COOKIE = "recap_session"
# The sign-in form's CSRF token before there is a session: the form and this cookie carry
# the same value (double submit), so another site cannot sign a browser in.
SIGN_IN_COOKIE = "recap_sign_in"
SESSION_LIFETIME = timedelta(hours=12)
PAGE_SIZE = 25
_MAX_PAGE = 10_000
_MAX_FORM_FIELDS = 16
_CSS = files("recap.api.ui").joinpath("static", "recap.css").read_bytes()
# Pages load nothing but recap's own stylesheet; no frame may hold them.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self';"
        " form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_SIGN_IN_FAILED = "Those details did not sign you in. Check them and try again."


@dataclass
class UiState:
    """What the pages hold for the app's lifetime."""

    settings: Settings
    store: SummaryStore
    users: UserStore
    keys: KeyStore
    catalog: RecordingCatalog
    signer: CookieSigner
    # Failed sign-ins, per client address and per email: guessing passwords costs time.
    failures: RateLimiter
    templates: Jinja2Templates


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
    )
    app.include_router(_router())


def _router() -> APIRouter:
    routes = APIRouter(prefix="/ui", include_in_schema=False)
    routes.add_api_route("/", home, methods=["GET"])
    routes.add_api_route("/sign-in", sign_in_form, methods=["GET"])
    routes.add_api_route("/sign-in", sign_in, methods=["POST"])
    routes.add_api_route("/sign-out", sign_out, methods=["POST"])
    routes.add_api_route("/static/recap.css", stylesheet, methods=["GET"])
    routes.add_api_route("/{project_id}/sessions", sessions_page, methods=["GET"])
    return routes


# Helpers


def _ui(request: Request) -> UiState:
    state: UiState = request.app.state.ui
    return state


def _page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    session: UiSession | None = None,
) -> Response:
    response = _ui(request).templates.TemplateResponse(
        request, template, {"session": session, **context}, status_code=status
    )
    response.headers.update(_SECURITY_HEADERS)
    return response


def _problem(
    request: Request, status: int, title: str, message: str, session: UiSession | None = None
) -> Response:
    return _page(
        request,
        "problem.html",
        {"title": title, "message": message},
        status=status,
        session=session,
    )


def _redirect(location: str) -> RedirectResponse:
    # 303: the browser follows with a GET, also after a POST.
    return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})


def safe_next(value: str | None) -> str | None:
    """`next` when it is a path of recap's pages on this site, else None: never another
    site (`https://…`, `//host`, `/\\host`), so signing in redirects nowhere else."""
    if not value or len(value) > 2048 or any(c in value for c in "\\\r\n\t") or not value.isascii():
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith("/ui/"):
        return None
    if parts.path.startswith("//") or "/../" in parts.path or parts.path.endswith("/.."):
        return None
    return value


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _form(request: Request) -> dict[str, str]:
    """The fields of an urlencoded form (the first value of each); empty for any other body."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return {}
    text = (await request.body()).decode("utf-8", errors="replace")
    try:
        fields = parse_qs(text, keep_blank_values=True, max_num_fields=_MAX_FORM_FIELDS)
    except ValueError:
        return {}
    return {name: values[0] for name, values in fields.items() if values}


def _tokens_match(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


async def _signed_in(request: Request) -> tuple[UiSession | None, str | None]:
    """The live session of the request's cookie, and its token; (None, None) without."""
    ui = _ui(request)
    token = ui.signer.unsign(request.cookies.get(SESSION_COOKIE))
    if token is None:
        return None, None
    session = await asyncio.to_thread(ui.users.session, token)
    return (session, token) if session is not None else (None, None)


def _to_sign_in(request: Request) -> RedirectResponse:
    return _redirect(f"/ui/sign-in?next={quote(request.url.path, safe='/')}")


def _cookie_flags(request: Request) -> dict[str, Any]:
    return {
        "httponly": True,
        "samesite": "lax",
        "secure": served_over_https(request, _ui(request).settings),
        "path": "/ui",
    }


# Routes


async def home(request: Request) -> Response:
    """`/ui/`: the signed-in team's recordings, or the sign-in form."""
    session, _ = await _signed_in(request)
    if session is None:
        return _redirect("/ui/sign-in")
    return _redirect(f"/ui/{quote(session.team_id)}/sessions")


async def stylesheet() -> Response:
    return Response(
        _CSS,
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


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
    ui = _ui(request)
    # The same token while the browser keeps its cookie: a second tab's form still works.
    token = ui.signer.unsign(request.cookies.get(SIGN_IN_COOKIE)) or secrets.token_urlsafe(32)
    response = _page(
        request,
        "sign_in.html",
        {"csrf_token": token, "next": next_path, "error": error, "email": email},
        status=status,
    )
    response.set_cookie(SIGN_IN_COOKIE, ui.signer.sign(token), **_cookie_flags(request))
    return response


async def sign_in(request: Request) -> Response:
    """A person's email and password, or a recap key: a session and a redirect to `next`
    (a page of this site only) or the team's recordings."""
    ui = _ui(request)
    form = await _form(request)
    expected = ui.signer.unsign(request.cookies.get(SIGN_IN_COOKIE))
    if not _tokens_match(form.get("csrf_token"), expected):
        return _csrf_refused(request)
    next_path = safe_next(form.get("next"))
    email = form.get("email", "").strip()
    key_token = form.get("key", "").strip()
    address = _client(request)
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
    ui = _ui(request)
    # A session the browser held before is ended, not kept beside the new one.
    previous = ui.signer.unsign(request.cookies.get(SESSION_COOKIE))
    if previous is not None:
        await asyncio.to_thread(ui.users.end_session, previous)
    token, _ = await asyncio.to_thread(
        lambda: ui.users.start_session(
            team_id=team_id, scopes=scopes, lifetime=SESSION_LIFETIME, **who
        )
    )
    response = _redirect(next_path or f"/ui/{quote(team_id)}/sessions")
    response.set_cookie(
        SESSION_COOKIE,
        ui.signer.sign(token),
        max_age=int(SESSION_LIFETIME.total_seconds()),
        **_cookie_flags(request),
    )
    response.delete_cookie(SIGN_IN_COOKIE, path="/ui")
    return response


def _csrf_refused(request: Request, session: UiSession | None = None) -> Response:
    return _problem(
        request,
        403,
        "The form has expired",
        "This form was missing its security token or had an old one, so nothing was"
        " changed. Go back, reload the page and send the form again.",
        session,
    )


def _too_many(request: Request) -> Response:
    response = _problem(
        request,
        429,
        "Too many sign-in attempts",
        "Sign-in is paused for this address or email after several failed attempts."
        " Wait a few minutes, then try again.",
    )
    response.headers["Retry-After"] = "60"
    return response


async def sign_out(request: Request) -> Response:
    ui = _ui(request)
    session, token = await _signed_in(request)
    form = await _form(request)
    if session is None or token is None:
        # Nothing to end; a form without a session has no token that could match.
        return _csrf_refused(request)
    if not _tokens_match(form.get("csrf_token"), session.csrf_token):
        return _csrf_refused(request, session)
    await asyncio.to_thread(ui.users.end_session, token)
    response = _redirect("/ui/sign-in")
    response.delete_cookie(SESSION_COOKIE, path="/ui")
    return response


async def sessions_page(request: Request, project_id: str) -> Response:
    """The team's recordings, a page at a time, with their summary's title and outcome."""
    ui = _ui(request)
    session, _ = await _signed_in(request)
    if session is None:
        return _to_sign_in(request)
    if session.team_id != project_id:
        return _problem(request, 404, "Not found", "There is no such page.", session)
    page = _page_number(request.query_params.get("page"))
    listing = await ui.catalog.listing(
        project_id,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
        has_summary=None,
        success=None,
    )
    summaries = await asyncio.to_thread(
        ui.store.recording_summaries,
        team_id=project_id,
        session_ids=[recording.id for recording in listing.results],
    )
    rows = []
    for recording in listing.results:
        stored = summaries.get(recording.id)
        outcome = stored.summary_outcome if stored else None
        rows.append(
            {
                "id": recording.id,
                "title": stored.summary.title if stored and stored.summary else None,
                "outcome": None
                if outcome is None
                else ("success" if outcome.success else "failure"),
                "outcome_text": outcome.description if outcome else None,
                "duration": _duration(recording.recording_duration),
                "start_url": recording.start_url,
                "start_time": recording.start_time,
            }
        )
    pages = max(1, -(-listing.count // PAGE_SIZE))
    return _page(
        request,
        "sessions.html",
        {
            "team_id": project_id,
            "rows": rows,
            "count": listing.count,
            "page": page,
            "pages": pages,
        },
        session=session,
    )


def _page_number(text: str | None) -> int:
    try:
        return min(max(1, int(text or "1")), _MAX_PAGE)
    except ValueError:
        return 1


def _duration(seconds: int) -> str:
    minutes, rest = divmod(max(0, seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{rest:02d}" if hours else f"{minutes}:{rest:02d}"
