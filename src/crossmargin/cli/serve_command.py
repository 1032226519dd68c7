"""`crossmargin serve`: run the HTTP/WebSocket service with uvicorn (one process).

The CLI and the service never import each other: the command checks its options, puts the ledger
URL in the environment the service reads (``CROSSMARGIN_DATABASE_URL``) and hands uvicorn the
service's application factory by name (:data:`SERVICE_FACTORY`)."""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated

import typer

from crossmargin.cli.render import make_console
from crossmargin.core.errors import CrossmarginError
from crossmargin.ledger import DATABASE_URL_ENV, database_url

__all__ = ["SERVICE_FACTORY", "serve_command"]

#: The service's application factory, as uvicorn imports it (``module:callable``).
SERVICE_FACTORY = "crossmargin.service.app:create_app_from_environment"


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
    or is generated on first start into a 0600 file in $CROSSMARGIN_SECRETS_DIR (default
    ./crossmargin-secrets) whose path is printed."""
    import uvicorn

    console = make_console(stderr=True)
    try:
        url = database_url(database)
    except CrossmarginError as error:
        console.print(f"[bold red]error:[/bold red] {error}", highlight=False)
        raise typer.Exit(code=2) from None
    if not _is_loopback(host):
        console.print(
            f"[yellow]warning:[/yellow] listening on {host} without TLS; put a TLS-terminating "
            "proxy in front of it: API keys travel in every request.",
            highlight=False,
        )
    os.environ[DATABASE_URL_ENV] = url
    uvicorn.run(SERVICE_FACTORY, factory=True, host=host, port=port, workers=1)
