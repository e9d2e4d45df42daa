"""What every page of recap's UI shares: the app-lifetime state, rendering a template with
the security headers, the problem page, the signed-in person, forms and their CSRF check.

Pages call `team_page` first: it answers the sign-in redirect, or the 404 that another
team's pages get, or the person's session."""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from recap.api.catalog import RecordingCatalog
from recap.api.deps import Runtime
from recap.api.ratelimit import RateLimiter
from recap.api.ui.cookies import CookieSigner, served_over_https
from recap.core.config import Settings
from recap.store.keys import WRITE_SCOPE, KeyStore
from recap.store.repository import SummaryStore
from recap.store.users import UiSession, UserStore

SESSION_COOKIE = "recap_session"
# The sign-in form's CSRF token before there is a session: the form and this cookie carry
# the same value (double submit), so another site cannot sign a browser in.
SIGN_IN_COOKIE = "recap_sign_in"
MAX_PAGE = 10_000
_MAX_FORM_FIELDS = 16
# Pages load nothing but recap's own stylesheet and scripts; no frame may hold them.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self';"
        " form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


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
    # The API's runtime: its Temporal client (`await runtime.temporal()`) for the pages
    # that start or follow work.
    runtime: Runtime


def ui_state(request: Request) -> UiState:
    state: UiState = request.app.state.ui
    return state


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    session: UiSession | None = None,
) -> Response:
    """`template` rendered with `context` and the signed-in `session`, with the pages'
    security headers."""
    response = ui_state(request).templates.TemplateResponse(
        request, template, {"session": session, **context}, status_code=status
    )
    response.headers.update(SECURITY_HEADERS)
    return response


def problem(
    request: Request, status: int, title: str, message: str, session: UiSession | None = None
) -> Response:
    """A page that says what went wrong, with `status`."""
    return page(
        request,
        "problem.html",
        {"title": title, "message": message},
        status=status,
        session=session,
    )


def not_found(request: Request, session: UiSession | None = None) -> Response:
    """The answer for another team's page and for an unknown one alike: nothing tells
    them apart."""
    return problem(
        request,
        404,
        "Not found",
        "There is no such page. Check the address, or go back to the recordings.",
        session,
    )


def csrf_refused(request: Request, session: UiSession | None = None) -> Response:
    return problem(
        request,
        403,
        "The form has expired",
        "This form was missing its security token or had an old one, so nothing was"
        " changed. Go back, reload the page and send the form again.",
        session,
    )


def redirect(location: str) -> RedirectResponse:
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


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def read_form(request: Request) -> dict[str, str]:
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


def tokens_match(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


async def signed_in(request: Request) -> tuple[UiSession | None, str | None]:
    """The live session of the request's cookie, and its token; (None, None) without."""
    ui = ui_state(request)
    token = ui.signer.unsign(request.cookies.get(SESSION_COOKIE))
    if token is None:
        return None, None
    session = await asyncio.to_thread(ui.users.session, token)
    return (session, token) if session is not None else (None, None)


def to_sign_in(request: Request) -> RedirectResponse:
    return redirect(f"/ui/sign-in?next={quote(request.url.path, safe='/')}")


async def team_page(request: Request, project_id: str) -> UiSession | Response:
    """The signed-in person's session when `project_id` is their team; otherwise the
    response to send: the sign-in redirect, or a 404 for another team's page."""
    session, _ = await signed_in(request)
    if session is None:
        return to_sign_in(request)
    if session.team_id != project_id:
        return not_found(request, session)
    return session


def can_write(session: UiSession) -> bool:
    """Whether the person may start work (summarize): a user or key with write."""
    return session.allows(WRITE_SCOPE)


def cookie_flags(request: Request) -> dict[str, Any]:
    return {
        "httponly": True,
        "samesite": "lax",
        "secure": served_over_https(request, ui_state(request).settings),
        "path": "/ui",
    }


def page_number(text: str | None) -> int:
    """A `?page=` value: 1 for anything that is not a page number, at most `MAX_PAGE`."""
    try:
        return min(max(1, int(text or "1")), MAX_PAGE)
    except ValueError:
        return 1


def duration_text(seconds: int) -> str:
    """`m:ss`, or `h:mm:ss` from an hour."""
    minutes, rest = divmod(max(0, seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{rest:02d}" if hours else f"{minutes}:{rest:02d}"
