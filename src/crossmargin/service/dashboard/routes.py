"""The dashboard's routes and :class:`DashboardGate` (see the package docstring)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, MutableMapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from fastapi import FastAPI, Request, WebSocket
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.websockets import WebSocketDisconnect

from crossmargin.core.errors import CrossmarginError
from crossmargin.ledger import UnknownAccountError
from crossmargin.service import operations
from crossmargin.service.auth import parse_path_account_id
from crossmargin.service.boundary import bearer_token
from crossmargin.service.context import ServiceContext
from crossmargin.service.dashboard.pages import account_page_data
from crossmargin.service.dashboard.sessions import (
    COOKIE_NAME,
    SESSION_SECONDS,
    Session,
    SessionStore,
)
from crossmargin.service.keys import KeyScope, Principal
from crossmargin.service.schemas import OrderCheck


class LiveDesk(Protocol):
    """What the dashboard reads of the live desk (``crossmargin.service.live_desk.LiveDesk``)."""

    def overview(self) -> dict[str, Any]:
        """The overview document."""
        ...

    def subscribe(self) -> asyncio.Queue[str]:
        """A queue of overview documents (JSON text), one per tick."""
        ...

    def unsubscribe(self, queue: asyncio.Queue[str]) -> None:
        """Stop feeding ``queue``."""
        ...


__all__ = ["DASHBOARD_PATHS", "DashboardGate", "mount_dashboard"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_HERE = Path(__file__).parent
#: Exact paths the dashboard serves (plus everything under :data:`_PREFIXES`).
DASHBOARD_PATHS = frozenset({"/", "/login", "/logout", "/api/overview", "/ws/overview"})
_PREFIXES = ("/dashboard/", "/static/dashboard/")
_FORM_LIMIT = 4096


class DashboardGate:
    """ASGI middleware: the dashboard's paths go to the dashboard app (which authenticates by
    session cookie itself), everything else to the API behind its trust boundary."""

    def __init__(self, app: ASGIApp, dashboard: ASGIApp) -> None:
        self.app = app
        self.dashboard = dashboard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] in ("http", "websocket") and (
            path in DASHBOARD_PATHS or path.startswith(_PREFIXES)
        ):
            await self.dashboard(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _same_origin(headers: Any) -> bool:
    """True when the request's ``Origin`` (if any) names the host it was sent to."""
    origin = headers.get("origin")
    if origin is None:
        return True
    return bool(urlsplit(str(origin)).netloc == headers.get("host", ""))


async def _form(request: Request) -> dict[str, str]:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _FORM_LIMIT:
            return {}
    pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    return dict(pairs[:16])


def _money(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.2f}"


def build_dashboard(context: ServiceContext, desk: LiveDesk) -> FastAPI:
    """The dashboard application (mounted by :func:`mount_dashboard`)."""
    sessions = SessionStore()
    templates = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=select_autoescape(["html"], default=True),
    )
    templates.filters["money"] = _money
    dash = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    dash.mount("/static/dashboard", StaticFiles(directory=_HERE / "static"), name="static")

    def page(name: str, status: int = 200, **values: Any) -> HTMLResponse:
        return HTMLResponse(templates.get_template(name).render(**values), status_code=status)

    def session_of(request: Request | WebSocket) -> Session | None:
        return sessions.get(request.cookies.get(COOKIE_NAME))

    def refused(session: Session | None, account_id: str) -> int | None:
        """The account id the session may open, else ``None`` (a 404 for the caller)."""
        parsed = parse_path_account_id(account_id)
        if session is None or parsed is None or not session.principal.may_access(parsed):
            return None
        return parsed

    @dash.get("/login")
    async def login_page(request: Request) -> Response:
        return page("login.html", error=None)

    @dash.post("/login")
    async def login(request: Request) -> Response:
        if not _same_origin(request.headers):
            return page("login.html", 403, error="cross-origin login refused")
        form = await _form(request)
        principal = context.keys.authenticate(form.get("key", "").strip())
        if principal is None or principal.scope is KeyScope.CUSTODY:
            return page("login.html", 401, error="unknown key")
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE_NAME,
            sessions.create(principal),
            max_age=SESSION_SECONDS,
            path="/",
            httponly=True,
            samesite="strict",
        )
        return response

    @dash.post("/logout")
    async def logout(request: Request) -> Response:
        session = session_of(request)
        form = await _form(request)
        if session is not None and SessionStore.csrf_ok(session, form.get("csrf")):
            sessions.end(request.cookies.get(COOKIE_NAME))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE_NAME, path="/")
        return response

    @dash.get("/")
    async def overview_page(request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        principal = session.principal
        if not principal.is_admin:
            return RedirectResponse(f"/dashboard/accounts/{principal.account_id}", 303)
        document = await run_in_threadpool(desk.overview)
        return page("overview.html", o=document, csrf=session.csrf_token)

    @dash.get("/api/overview")
    async def overview_json(request: Request) -> Response:
        session = session_of(request)
        principal: Principal | None = session.principal if session else None
        token = bearer_token(request.scope)
        if principal is None and token:
            principal = context.keys.authenticate(token)
        if principal is None:
            return JSONResponse({"error": "unauthorized", "detail": "log in"}, 401)
        if not principal.is_admin:
            body = {"error": "forbidden", "detail": "this needs the admin key"}
            return JSONResponse(body, 403)
        return JSONResponse(await run_in_threadpool(desk.overview))

    @dash.websocket("/ws/overview")
    async def overview_stream(websocket: WebSocket) -> None:
        session = session_of(websocket)
        if session is None or not session.principal.is_admin or not _same_origin(websocket.headers):
            await websocket.close(code=1008)
            return
        await websocket.accept()
        queue = desk.subscribe()
        try:
            while True:
                text = await queue.get()
                await websocket.send_text(text)
        except (WebSocketDisconnect, RuntimeError, asyncio.CancelledError):
            pass
        finally:
            desk.unsubscribe(queue)
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await websocket.close()

    async def account_view(
        request: Request, account_id: str, whatif: dict[str, Any] | None
    ) -> Response:
        session = session_of(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        parsed = refused(session, account_id)
        if parsed is None:
            return page("refused.html", 404)
        try:
            data = await run_in_threadpool(account_page_data, context, parsed)
        except UnknownAccountError:
            return page("refused.html", 404)
        return page(
            "account.html",
            a=data,
            whatif=whatif,
            csrf=session.csrf_token,
            admin=session.principal.is_admin,
        )

    @dash.get("/dashboard/accounts/{account_id}")
    async def account_page(request: Request, account_id: str) -> Response:
        return await account_view(request, account_id, None)

    @dash.post("/dashboard/accounts/{account_id}/whatif")
    async def account_whatif(request: Request, account_id: str) -> Response:
        session = session_of(request)
        parsed = refused(session, account_id)
        if session is None or parsed is None:
            return page("refused.html", 404)
        form = await _form(request)
        if not SessionStore.csrf_ok(session, form.get("csrf")):
            return page("refused.html", 403)
        result: dict[str, Any]
        try:
            Decimal(form.get("size", ""))
            order = OrderCheck(
                instrument=form.get("instrument", ""),
                size=form.get("size", ""),
                model=form.get("model", "pm") or "pm",
            )
            result = await run_in_threadpool(
                operations.order_check_document, context, parsed, order
            )
            result["error"] = None
        except (CrossmarginError, ValueError, InvalidOperation) as error:
            result = {"error": str(error)[:300]}
        result["instrument"] = form.get("instrument", "")[:64]
        result["size"] = form.get("size", "")[:32]
        return await account_view(request, account_id, result)

    return dash


def mount_dashboard(app: FastAPI, context: ServiceContext, desk: LiveDesk) -> None:
    """Put :class:`DashboardGate` in front of ``app`` (outside its trust boundary)."""
    app.add_middleware(DashboardGate, dashboard=build_dashboard(context, desk))
