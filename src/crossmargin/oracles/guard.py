"""The last good price: the one piece of oracle state, kept apart from the pure aggregation.

:func:`~crossmargin.oracles.aggregate.aggregate` decides; :class:`LastGoodPrice` remembers. When an
aggregation is ``unavailable`` the holder hands back the last good price, flagged, with
``accepts_new_risk`` False: existing accounts keep being margined on it (DESIGN.md §8 "Oracles fail
safe"), while new risk (orders that increase exposure, withdrawals) is refused with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crossmargin.oracles.quotes import AggregatedPrice, OracleStatus

__all__ = ["GuardedPrice", "LastGoodPrice"]


@dataclass(frozen=True, slots=True)
class GuardedPrice:
    """The price to margin on after the fail-safe rule.

    Attributes
    ----------
    price_usd:
        The fresh aggregated price, or the last good one when the oracle is unavailable (USD per
        unit); None only when no good price was ever seen.
    status:
        Status of the latest aggregation.
    is_last_good:
        True when ``price_usd`` is a kept older price rather than the latest aggregation.
    priced_at:
        When ``price_usd`` was aggregated (UTC), or None.
    accepts_new_risk:
        False when the latest aggregation is ``unavailable``: refuse new risk.
    reason:
        One line saying why (quoted by the service and the CLI).
    """

    price_usd: float | None
    status: OracleStatus
    is_last_good: bool
    priced_at: datetime | None
    accepts_new_risk: bool
    reason: str


class LastGoodPrice:
    """Holds the last ``ok`` or ``degraded`` price of one asset (state, not policy).

    Examples
    --------
    >>> holder = LastGoodPrice("BTC")
    >>> guarded = holder.update(aggregated)  # doctest: +SKIP
    """

    def __init__(self, asset: str) -> None:
        self._asset = asset
        self._price_usd: float | None = None
        self._priced_at: datetime | None = None

    @property
    def asset(self) -> str:
        """The asset this holder keeps a price for."""
        return self._asset

    @property
    def price_usd(self) -> float | None:
        """The last good price, USD per unit (None before the first ``ok``/``degraded`` one)."""
        return self._price_usd

    @property
    def priced_at(self) -> datetime | None:
        """When :attr:`price_usd` was aggregated (UTC), or None."""
        return self._priced_at

    def update(self, aggregated: AggregatedPrice) -> GuardedPrice:
        """Record ``aggregated`` when it has a price; return the price to margin on.

        Returns
        -------
        GuardedPrice
            The new price when the status is ``ok`` or ``degraded``; otherwise the last good
            price flagged with ``is_last_good`` and ``accepts_new_risk=False``.
        """
        if aggregated.price_usd is not None:
            self._price_usd = aggregated.price_usd
            self._priced_at = aggregated.as_of
            return GuardedPrice(
                aggregated.price_usd,
                aggregated.status,
                is_last_good=False,
                priced_at=aggregated.as_of,
                accepts_new_risk=True,
                reason=f"{self._asset} oracle {aggregated.status}: {aggregated.reason}",
            )
        kept = "no good price yet"
        if self._priced_at is not None:
            stamp = f"{self._priced_at:%Y-%m-%dT%H:%M:%SZ}"
            kept = f"keeping the last good price {self._price_usd:,.8g} USD of {stamp}"
        return GuardedPrice(
            self._price_usd,
            aggregated.status,
            is_last_good=self._price_usd is not None,
            priced_at=self._priced_at,
            accepts_new_risk=False,
            reason=(
                f"{self._asset} oracle unavailable ({aggregated.reason}): new risk refused; {kept}"
            ),
        )
