"""What a market update must satisfy before the service margins with it.

A tick or snapshot that the models cannot margin — an index of 1e48, a rate of 1e308, a valuation
time in the year 9999, an asset dropped while positions in it are open — would make every
margin, withdrawal and trade of the accounts concerned fail. :func:`check_market_update` refuses
such an update (an :class:`~crossmargin.core.errors.InputError`, a 422 naming the field) so the
current market stays in force:

* every asset priced now stays priced, at a finite index in (0, 1e8] USD, moving at most
  ``max_index_move`` (25 %) per update — a larger move is made in steps, each checked;
* ``rate_annual`` finite with \\|r\\| ≤ 1; explicit forwards finite, positive, within the same
  bound of their index;
* the valuation time never goes back, and is not after now (plus one minute of clock skew);
* ``probe(market)`` — the service margins every open position with the new market — succeeds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from crossmargin.core.errors import InputError
from crossmargin.market import MarketSnapshot

__all__ = ["MarketLimits", "check_market_update"]


@dataclass(frozen=True)
class MarketLimits:
    """Bounds of :func:`check_market_update`."""

    max_index_move: float = 0.25
    max_index_usd: float = 1e8
    max_abs_rate_annual: float = 1.0
    clock_skew: timedelta = timedelta(minutes=1)


def _check_prices(
    current: MarketSnapshot, new: MarketSnapshot, field: str, limits: MarketLimits
) -> None:
    missing = sorted(set(current.index_usd) - set(new.index_usd))
    if missing:
        raise InputError(f"{field}.index_usd", missing, "must keep pricing every asset priced now")
    for asset, price in new.index_usd.items():
        name = f"{field}.index_usd.{asset}"
        if not (math.isfinite(price) and 0.0 < price <= limits.max_index_usd):
            raise InputError(
                name, price, f"must be a finite price in (0, {limits.max_index_usd:g}] USD"
            )
        old = current.index_usd.get(asset)
        if old is not None and abs(price / old - 1.0) > limits.max_index_move:
            raise InputError(
                name,
                price,
                f"moves more than {limits.max_index_move:.0%} from {old!r} in one update",
            )
    for (asset, _), forward in new.forwards_usd.items():
        index = new.index_usd.get(asset)
        if (
            index is None
            or not math.isfinite(forward)
            or abs(forward / index - 1.0) > limits.max_index_move
        ):
            raise InputError(
                f"{field}.forwards_usd.{asset}",
                forward,
                f"must be finite and within {limits.max_index_move:.0%} of the index",
            )


def check_market_update(
    current: MarketSnapshot,
    new: MarketSnapshot,
    field: str,
    now: datetime,
    probe: Callable[[MarketSnapshot], None],
    limits: MarketLimits | None = None,
) -> None:
    """Refuse ``new`` (replacing ``current`` at ``now``) unless it meets the module's rules;
    ``field`` prefixes the names in the errors (``tick``, ``snapshot``)."""
    bounds = limits or MarketLimits()
    _check_prices(current, new, field, bounds)
    if not (math.isfinite(new.rate_annual) and abs(new.rate_annual) <= bounds.max_abs_rate_annual):
        raise InputError(
            f"{field}.rate_annual",
            new.rate_annual,
            f"must be finite, |r| ≤ {bounds.max_abs_rate_annual:g}",
        )
    if new.valuation_time < current.valuation_time:
        raise InputError(
            f"{field}.valuation_time",
            new.valuation_time.isoformat(),
            f"must not go back before {current.valuation_time.isoformat()}",
        )
    if new.valuation_time > now + bounds.clock_skew:
        raise InputError(
            f"{field}.valuation_time", new.valuation_time.isoformat(), "is in the future"
        )
    try:
        probe(new)
    except (InputError, ArithmeticError, ValueError, KeyError) as error:
        raise InputError(
            field, None, f"open positions cannot be margined at this market: {str(error)[:200]}"
        ) from None
