"""`crossmargin demo`: the live risk desk, headless (a summary) or served (``--serve``).

The CLI and the service never import each other: the command runs the service's demo module
(:data:`DEMO_MODULE`) in a child Python process with the same options."""

from __future__ import annotations

import subprocess
import sys
from typing import Annotated

import typer

__all__ = ["DEMO_MODULE", "demo_command"]

#: The service's demo entry point, run as ``python -m``.
DEMO_MODULE = "crossmargin.service.demo"


def demo_command(
    days: Annotated[float, typer.Option("--days", help="Days of 4-hour history to replay.")] = 30.0,
    accounts: Annotated[
        int, typer.Option("--accounts", help="Synthetic accounts to seed (first run).", min=1)
    ] = 10_000,
    database: Annotated[
        str | None, typer.Option("--database", help="Ledger URL (default crossmargin-demo.db).")
    ] = None,
    serve: Annotated[bool, typer.Option("--serve", help="Serve the dashboard live.")] = False,
    pace: Annotated[float, typer.Option("--pace", help="Seconds per bar when serving.")] = 1.0,
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8000,
) -> None:
    """Seed the demo ledger once, then replay real BTC/ETH history through the live desk:
    headless with a summary, or with --serve on http://127.0.0.1:PORT/."""
    command = [sys.executable, "-m", DEMO_MODULE, "--days", str(days), "--accounts", str(accounts)]
    command += ["--pace", str(pace), "--port", str(port)]
    if database:
        command += ["--database", database]
    if serve:
        command.append("--serve")
    try:
        code = subprocess.call(command)
    except KeyboardInterrupt:
        code = 130
    raise typer.Exit(code=code)
