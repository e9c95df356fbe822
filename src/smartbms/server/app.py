"""The FastAPI application factory: API routers, the static dashboard, security headers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from smartbms import __version__
from smartbms.errors import StorageError
from smartbms.server.context import ServerContext
from smartbms.server.routes import admin, alerts, auth, control, ingest, live, packs

WEB_DIR = Path(__file__).parent / "web"
# No inline scripts or third-party origins: the dashboard is plain files served from here.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def create_app(context: ServerContext, *, own_context: bool = False) -> FastAPI:
    """An app serving ``context``; with ``own_context`` the app closes it on shutdown."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        context.hub.attach(asyncio.get_running_loop())
        context.start_maintenance()
        try:
            yield
        finally:
            if own_context:
                context.close()

    app = FastAPI(
        title="smartbms monitoring server",
        version=__version__,
        description="Packs, history, events, alarms, settings and commands of smartbms battery packs.",
        lifespan=lifespan,
    )
    app.state.context = context
    for module in (auth, packs, control, ingest, admin, alerts, live):
        app.include_router(module.router)

    @app.exception_handler(StorageError)
    async def storage_error(_: Request, exc: StorageError) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")
    return app
