"""Collateral held on another chain or venue: a transfer haircut, a delay, and halted bridges.

Collateral that sits elsewhere must cross a bridge (or a venue's withdrawal queue) before it can
be sold in a liquidation. Each location has a :class:`TransferRoute`: an extra haircut for the
bridge's own risk and the delay before funds arrive. Canonical optimistic-rollup withdrawals to
Ethereum wait out a 7-day challenge period (Arbitrum and Optimism documentation); fast bridges and
venue transfers take minutes. A halted bridge (exploits: Ronin, Mar 2022; Wormhole, Feb 2022;
Nomad, Aug 2022) freezes what is behind it: :func:`halt_bridge` builds that scenario, in which the
stuck collateral counts for nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from crossmargin.core.checks import check_fraction, check_non_negative
from crossmargin.core.errors import InputError
from crossmargin.core.timeutil import ensure_utc

__all__ = [
    "LocatedCollateral",
    "TransferRoute",
    "available_at",
    "halt_bridge",
    "transfer_adjusted_value_usd",
    "value_available_by",
]


@dataclass(frozen=True, slots=True)
class TransferRoute:
    """How collateral at ``location`` reaches the margin venue.

    Attributes
    ----------
    location:
        Chain or venue name (``"arbitrum"``, ``"solana"``, ``"home"`` for the venue itself).
    extra_haircut:
        Added haircut for bridge/transfer risk (0.02 = 2 % of the value).
    delay_s:
        Seconds before transferred funds can be used (and sold by the liquidation engine).
    halted:
        True when the route is down: nothing behind it moves, nothing behind it counts.
    """

    location: str
    extra_haircut: float
    delay_s: float
    halted: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.location, str) or not self.location:
            raise InputError("route.location", self.location, "must be a non-empty name")
        check_fraction(self.extra_haircut, "route.extra_haircut")
        check_non_negative(self.delay_s, "route.delay_s")


@dataclass(frozen=True, slots=True)
class LocatedCollateral:
    """A collateral value (USD, after the asset's own haircut) held at ``location``."""

    currency: str
    location: str
    value_usd: float


def transfer_adjusted_value_usd(value_usd: float, route: TransferRoute) -> float:
    """``value × (1 − extra_haircut)``, or 0 when the route is halted (USD)."""
    if route.halted:
        return 0.0
    return value_usd * (1.0 - route.extra_haircut)


def available_at(route: TransferRoute, now: datetime) -> datetime | None:
    """When funds sent now over ``route`` arrive (UTC); None when the route is halted."""
    moment = ensure_utc(now, "now")
    if route.halted:
        return None
    return moment + timedelta(seconds=route.delay_s)


def _route(routes: Mapping[str, TransferRoute], location: str) -> TransferRoute:
    try:
        return routes[location]
    except KeyError:
        raise InputError(
            "location", location, f"no transfer route (have {sorted(routes)})"
        ) from None


def value_available_by(
    holdings: Iterable[LocatedCollateral],
    routes: Mapping[str, TransferRoute],
    now: datetime,
    deadline: datetime,
) -> float:
    """Collateral value (USD, after transfer haircuts) that can reach the venue by ``deadline``.

    The liquidation engine sells only what has arrived: a holding whose route delay ends after
    ``deadline``, or whose route is halted, contributes nothing.
    """
    total = 0.0
    for holding in holdings:
        route = _route(routes, holding.location)
        arrival = available_at(route, now)
        if arrival is not None and arrival <= ensure_utc(deadline, "deadline"):
            total += transfer_adjusted_value_usd(holding.value_usd, route)
    return total


def halt_bridge(routes: Mapping[str, TransferRoute], location: str) -> dict[str, TransferRoute]:
    """The "bridge halted" scenario: the same routes with ``location`` halted."""
    halted = dict(routes)
    halted[location] = replace(_route(routes, location), halted=True)
    return halted
