"""Keys never reach the logs: uvicorn's access and WebSocket log lines are redacted by the
parsed query parameter.

uvicorn logs each request's path with its query string (``uvicorn.access``: ``%s - "%s %s
HTTP/%s" %d``; ``uvicorn.error`` for WebSocket handshakes: ``%s - "WebSocket %s" …``). The filter
rewrites only the arguments that are paths: it splits the query into parameters, decodes each
name as the service does (``tok%65n`` is ``token``), and replaces the value of every sensitive
name with ``***`` — the message and its argument tuple keep their shape, so uvicorn's formatters
work unchanged.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, unquote_plus

__all__ = ["SENSITIVE_PARAMETERS", "TokenRedactingFilter", "install_log_redaction", "redact_path"]

#: Query parameter names (decoded, case-insensitive) whose values are never logged.
SENSITIVE_PARAMETERS = frozenset({"token", "api_key", "key", "access_token", "authorization"})


def redact_path(path: str) -> str:
    """``path`` with the values of :data:`SENSITIVE_PARAMETERS` in its query replaced by
    ``***`` (the rest byte for byte)."""
    route, mark, query = path.partition("?")
    if not mark:
        return path
    parts = []
    for part in query.split("&"):
        name, equals, _ = part.partition("=")
        if unquote_plus(name).strip().lower() in SENSITIVE_PARAMETERS:
            parts.append(f"{quote(unquote_plus(name), safe='')}{equals or '='}***")
        else:
            parts.append(part)
    return f"{route}?{'&'.join(parts)}"


class TokenRedactingFilter(logging.Filter):
    """Redacts every path argument of a log record (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                redact_path(arg) if isinstance(arg, str) and arg.startswith("/") else arg
                for arg in record.args
            )
        return True


def install_log_redaction() -> None:
    """Add the filter to uvicorn's loggers (once)."""
    for name in ("uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, TokenRedactingFilter) for f in logger.filters):
            logger.addFilter(TokenRedactingFilter())
