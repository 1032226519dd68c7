"""The real service plus one route that fails unexpectedly, to test the catch-all 500 over HTTP
(``ServiceProcess(..., factory="support.faulty_service:create_faulty_app")``)."""

from __future__ import annotations

from fastapi import FastAPI

from crossmargin.service import create_app

__all__ = ["create_faulty_app"]


def create_faulty_app() -> FastAPI:
    """:func:`crossmargin.service.create_app` with ``GET /boom`` raising a ``ZeroDivisionError``
    whose message holds a secret-looking string the answer must not show."""
    app = create_app()

    @app.get("/boom")
    async def boom() -> None:
        raise ZeroDivisionError("internal detail: /etc/crossmargin/secret")

    return app
