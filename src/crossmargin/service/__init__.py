"""The HTTP/WebSocket service (FastAPI + uvicorn): accounts, margin and a live risk stream.

* :func:`create_app` — the application factory (``uvicorn --factory crossmargin.service:create_app``
  or ``crossmargin serve``); configuration from its arguments or ``CROSSMARGIN_DATABASE_URL``,
  ``CROSSMARGIN_ADMIN_KEY`` and ``CROSSMARGIN_RISK_MODEL``.
* :class:`KeyStore`, :class:`Principal`, :class:`KeyScope` — API keys (account, custody, admin),
  stored as keyed hashes (HMAC-SHA-256) in the service's own table ``service_api_keys``.
* :class:`TrustBoundary` — authentication, rate limits and body checks before any parsing.
* :class:`TradingRules` — listed instruments, lot and tick sizes, price band, notional cap.
* :class:`MarketState`, :func:`default_market` — the current market (in memory, versioned).
* :class:`MarginStream` — WebSocket fan-out of margin triggers.

The service only wires the library together: the ledger posts, the margin models decide.
See ``docs/service.md``.
"""

from crossmargin.service.app import ADMIN_KEY_ENV, RISK_MODEL_ENV, create_app
from crossmargin.service.boundary import TrustBoundary
from crossmargin.service.context import ServiceContext
from crossmargin.service.keys import KeyScope, KeyStore, Principal
from crossmargin.service.market_state import MarketState, apply_tick, builtin_market, default_market
from crossmargin.service.stream import MarginStream
from crossmargin.service.trading import TradingRules, load_trading_rules

__all__ = [
    "ADMIN_KEY_ENV",
    "RISK_MODEL_ENV",
    "KeyScope",
    "KeyStore",
    "MarginStream",
    "MarketState",
    "Principal",
    "ServiceContext",
    "TradingRules",
    "TrustBoundary",
    "apply_tick",
    "builtin_market",
    "create_app",
    "default_market",
    "load_trading_rules",
]
