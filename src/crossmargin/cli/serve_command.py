"""`crossmargin serve`: run the HTTP/WebSocket service with uvicorn (one process)."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer

from crossmargin.cli.render import make_console
from crossmargin.core.errors import CrossmarginError

__all__ = ["serve_command"]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_command(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.", min=0, max=65535)] = 8000,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            help="SQLAlchemy URL of the ledger (default: $CROSSMARGIN_DATABASE_URL, else "
            "./crossmargin.db).",
        ),
    ] = None,
) -> None:
    """Serve the API (OpenAPI docs at /docs). The admin key comes from $CROSSMARGIN_ADMIN_KEY,
    or is generated on first start and printed once."""
    import uvicorn

    from crossmargin.service import create_app

    console = make_console(stderr=True)
    try:
        app = create_app(database_url=database)
    except CrossmarginError as error:
        console.print(f"[bold red]error:[/bold red] {error}", highlight=False)
        raise typer.Exit(code=2) from None
    if not _is_loopback(host):
        console.print(
            f"[yellow]warning:[/yellow] listening on {host} without TLS; put a TLS-terminating "
            "proxy in front of it: API keys travel in every request.",
            highlight=False,
        )
    uvicorn.run(app, host=host, port=port, workers=1)
