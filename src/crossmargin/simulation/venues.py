"""How a venue liquidates inside a cascade: a centralised exchange or an on-chain engine.

* **CEX** (Deribit, Binance): risk checks run every millisecond, so every account that breaches
  within a round is taken that round, its positions sold into the book at once; the liquidation
  fee (Deribit: 0.5 % BTC futures, 0.9 % ETH; liquidation.toml [B]) goes to the insurance fund.
* **On-chain** (Derive-style Dutch auction, venues.md "Liquidation mechanics"): health is checked
  at the oracle price of ``oracle_lag_rounds`` ago (Drift treats an oracle as stale for margin
  after ~60 s, one one-minute round); a keeper buys the account's positions at the auction's
  start factor 0.95 of its mark-to-market (the account loses the 5 % discount and a 10 % fee of
  |MtM| to the security module) and sells them into the book ``flow_delay_rounds`` later; a
  keeper bids only when its discount pays the gas (``gas_usd``, liquidation.toml: $2 on an L2)
  plus ``keeper_min_profit_usd``; at most ``capacity_per_round`` auctions clear per round (block
  space). An insolvent account (MtM ≤ 0) is paid for by the security module (the fund here).
* **dYdX-style** (:meth:`VenueParameters.dydx`): an order-book venue whose liquidations are
  capped per account per block (``max_close_usd_per_account`` per round).
* Switches: ``outage`` (a CEX matching-engine outage: nobody is liquidated, the price still
  moves), ``congestion`` (on-chain gas × 25 and capacity / 10).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from crossmargin.core.errors import InputError

__all__ = ["VenueMode", "VenueParameters"]


class VenueMode(StrEnum):
    """Centralised exchange or on-chain liquidation."""

    CEX = "cex"
    ONCHAIN = "onchain"


@dataclass(frozen=True, slots=True)
class VenueParameters:
    """A venue's liquidation mechanics in a cascade (fractions, USD, rounds)."""

    mode: VenueMode = VenueMode.CEX
    oracle_lag_rounds: int = 0
    flow_delay_rounds: int = 0
    fee_rate_btc: float = 0.005
    fee_rate_other: float = 0.009
    security_fee_rate: float = 0.0
    keeper_discount: float = 0.0
    gas_usd: float = 0.0
    keeper_min_profit_usd: float = 0.0
    capacity_per_round: int | None = None
    outage_rounds: int = 0
    max_close_usd_per_account: float | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "mode", VenueMode(self.mode))
        except ValueError:
            raise InputError("mode", self.mode, "must be cex or onchain") from None
        for name in ("oracle_lag_rounds", "flow_delay_rounds", "outage_rounds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InputError(name, value, "must be an int >= 0")
        for name in ("fee_rate_btc", "fee_rate_other", "security_fee_rate", "keeper_discount"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0.0 <= value < 1.0):
                raise InputError(name, value, "must lie in [0, 1)")
        for name in ("gas_usd", "keeper_min_profit_usd"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and value >= 0.0):
                raise InputError(name, value, "must be >= 0")
        limit = self.max_close_usd_per_account
        if limit is not None and not (isinstance(limit, int | float) and limit > 0):
            raise InputError("max_close_usd_per_account", limit, "must be None or > 0")
        cap = self.capacity_per_round
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise InputError("capacity_per_round", cap, "must be None or an int >= 1")

    @classmethod
    def cex(cls) -> VenueParameters:
        """Deribit-like CEX: no oracle lag, fees 0.5 % BTC / 0.9 % ETH to the fund."""
        return cls()

    @classmethod
    def onchain(cls) -> VenueParameters:
        """Derive-like on-chain venue: oracle one round behind, keepers sell one round later,
        0.95 start factor, 10 % security fee, $2 gas + $1 keeper profit, 500 auctions a round."""
        return cls(
            mode=VenueMode.ONCHAIN,
            oracle_lag_rounds=1,
            flow_delay_rounds=1,
            fee_rate_btc=0.0,
            fee_rate_other=0.0,
            security_fee_rate=0.10,
            keeper_discount=0.05,
            gas_usd=2.0,
            keeper_min_profit_usd=1.0,
            capacity_per_round=500,
        )

    @classmethod
    def dydx(cls, blocks_per_round: int = 60) -> VenueParameters:
        """dYdX v4-like venue (venues.md "Liquidation mechanics", ``dydxprotocol/v4-chain``
        ``x/clob/keeper/liquidations.go``): liquidation fee 1.5 % to the insurance fund, margin
        checked at the oracle (index) price one round old, at most $100k of notional closed per
        subaccount per block × ``blocks_per_round`` (60: about one-second blocks in a one-minute
        round — a crossmargin assumption on block time). Its ADL is the scan
        (:attr:`~crossmargin.simulation.adl.AdlPolicy.SCAN`, set on the cascade config)."""
        return cls(
            fee_rate_btc=0.015,
            fee_rate_other=0.015,
            oracle_lag_rounds=1,
            max_close_usd_per_account=100_000.0 * blocks_per_round,
        )

    def congested(self) -> VenueParameters:
        """The same venue with gas × 25 and a tenth of the capacity (at least 1)."""
        capacity = (
            None if self.capacity_per_round is None else max(1, self.capacity_per_round // 10)
        )
        return replace(self, gas_usd=self.gas_usd * 25.0, capacity_per_round=capacity)

    def with_outage(self, rounds: int) -> VenueParameters:
        """The same venue with no liquidation in the first ``rounds`` rounds."""
        return replace(self, outage_rounds=rounds)
