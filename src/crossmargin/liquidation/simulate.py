"""Simulate the liquidation of one account after a market move, step by step.

:func:`simulate_liquidation` is what ``crossmargin liquidate FILE`` runs: move the market
(relative index moves per underlying), build the account under the chosen margin model
(:func:`~crossmargin.liquidation.model_margin.account_under_model`: a registered model, or
``None`` for the fast scenario margin), then liquidate it in CEX rounds
(:func:`~crossmargin.liquidation.cex.run_cex_liquidation`) or in Derive's on-chain Dutch auction
(:func:`~crossmargin.liquidation.auction.run_dutch_auction`, the market held still over the
auction's blocks). The result is one :class:`LiquidationReport` whatever the mode: health
before and after (the library's state names), rounds (what was closed, at what price, the fee,
the margin ratio after), the insurance fund's change and the bad debt.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

import numpy as np

from crossmargin.core.errors import InputError
from crossmargin.core.numeric import margin_to_decimal
from crossmargin.liquidation.account import AccountRisk, MarginFunction
from crossmargin.liquidation.auction import AuctionResult, run_dutch_auction
from crossmargin.liquidation.cex import CexLiquidation, run_cex_liquidation
from crossmargin.liquidation.insurance import InsuranceFund
from crossmargin.liquidation.model_margin import account_under_model
from crossmargin.liquidation.parameters import LiquidationParameters
from crossmargin.margin.base import MarginModel
from crossmargin.margin.health import HealthState, health_state, margin_ratio
from crossmargin.market import MarketSnapshot
from crossmargin.oracles import OracleTiming
from crossmargin.oracles.onchain import OracleMode
from crossmargin.portfolio import Portfolio

__all__ = [
    "ClosedLeg",
    "LiquidationMode",
    "LiquidationReport",
    "ReportRound",
    "parse_moves",
    "simulate_liquidation",
]


class LiquidationMode(StrEnum):
    """How the account is liquidated."""

    CEX = "cex"
    ONCHAIN = "onchain"


@dataclass(frozen=True, slots=True)
class ClosedLeg:
    """What one step closed of one position: the order (native, signed: −2 sells 2) and the
    fill price in USD per unit (``None`` when unknown)."""

    instrument: str
    size: float
    price_usd: float | None


@dataclass(frozen=True, slots=True)
class ReportRound:
    """One step: a CEX round or an auction bid (time in s from the start), its legs, the fee
    charged in it (Decimal USD ≥ 0) and the margin ratio (MM / equity) after it."""

    index: int
    time_s: float
    closed: tuple[ClosedLeg, ...]
    fee_usd: Decimal
    margin_ratio_after: float


@dataclass(frozen=True, eq=False)
class LiquidationReport:
    """One account's liquidation (amounts in USD; Decimal where they are money)."""

    mode: LiquidationMode
    model: str
    moves: Mapping[str, float]
    health_before: HealthState
    health_after: HealthState
    equity_before_usd: float
    maintenance_before_usd: float
    equity_after_usd: float
    maintenance_after_usd: float
    rounds: tuple[ReportRound, ...]
    insurance_fund_delta: Decimal
    bad_debt: Decimal
    cex: CexLiquidation | None = None
    auction: AuctionResult | None = None

    def to_document(self) -> dict[str, object]:
        """Strict JSON form (``crossmargin liquidate --json``): Decimal amounts as strings,
        health as state names, a non-finite ratio as ``None``."""

        def finite(value: float) -> float | None:
            return value if math.isfinite(value) else None

        return {
            "mode": self.mode.value,
            "model": self.model,
            "moves": dict(self.moves),
            "health_before": self.health_before.value,
            "equity_before_usd": self.equity_before_usd,
            "maintenance_margin_before_usd": self.maintenance_before_usd,
            "rounds": [
                {
                    "index": r.index,
                    "time_s": r.time_s,
                    "closed": [
                        {"instrument": c.instrument, "size": c.size, "price_usd": c.price_usd}
                        for c in r.closed
                    ],
                    "fee_usd": str(r.fee_usd),
                    "margin_ratio_after": finite(r.margin_ratio_after),
                }
                for r in self.rounds
            ],
            "insurance_fund_delta_usd": str(self.insurance_fund_delta),
            "bad_debt_usd": str(self.bad_debt),
            "health_after": self.health_after.value,
            "equity_after_usd": self.equity_after_usd,
            "maintenance_margin_after_usd": self.maintenance_after_usd,
        }


def parse_moves(raw: list[str] | tuple[str, ...], market: MarketSnapshot) -> dict[str, float]:
    """``["BTC=-0.2", "ETH=0.1"]`` as {underlying: relative move}; refuses (naming
    ``--move`` and the value) a malformed item, an underlying the market does not price, a
    repeated one, a non-finite move or one ≤ −1."""
    moves: dict[str, float] = {}
    for item in raw:
        asset, equals, text = item.partition("=")
        asset = asset.strip()
        if not equals or not asset:
            raise InputError("--move", item, "must look like UNDERLYING=MOVE, e.g. BTC=-0.2")
        if asset not in market.index_usd:
            known = ", ".join(sorted(market.index_usd))
            raise InputError(
                "--move", item, f"unknown underlying {asset!r}; the market has {known}"
            )
        if asset in moves:
            raise InputError("--move", item, f"{asset} is moved twice")
        try:
            move = float(text)
        except ValueError:
            raise InputError("--move", item, "the move must be a number such as -0.2") from None
        if not math.isfinite(move) or move <= -1.0:
            raise InputError("--move", item, "the move must be a finite number > -1 (-0.2 = -20 %)")
        moves[asset] = move
    return moves


def _state(account: AccountRisk, margin: MarginFunction) -> tuple[float, float]:
    _, maintenance = margin(account.size[None, :])
    return account.equity_usd(), float(maintenance[0])


def _cex_rounds(result: CexLiquidation) -> tuple[ReportRound, ...]:
    return tuple(
        ReportRound(
            r.index,
            r.time_s,
            tuple(ClosedLeg(f.instrument, f.size, f.price_usd) for f in r.fills),
            r.fee,
            r.margin_ratio_after,
        )
        for r in result.rounds
    )


def _onchain(
    account: AccountRisk,
    margin: MarginFunction,
    parameters: LiquidationParameters,
) -> tuple[AuctionResult, tuple[ReportRound, ...], float, float]:
    """Run the auction with the market still: (result, bids as rounds, equity and MM after)."""
    auction = parameters.auction
    timing = OracleTiming(OracleMode.ON_CHAIN)
    blocks = math.ceil((auction.fast_phase_s + auction.slow_phase_s) / timing.block_time_s) + 2
    value = float(account.size @ account.unit_mark_usd)
    _, maintenance = _state(account, margin)
    result = run_dutch_auction(
        np.full(blocks, value),
        np.full(blocks, maintenance),
        account.collateral_usd,
        auction,
        timing,
    )
    price = (
        account.unit_price_usd
        if account.unit_price_usd is not None
        else np.full(account.position_count, np.nan)
    )
    cash, left, rounds = account.collateral_usd - float(result.fee), 1.0, []
    for k, bid in enumerate(result.bids):
        taken = left * bid.fraction
        legs = tuple(
            ClosedLeg(
                account.instruments[i],
                float(-account.size[i] * taken),
                None
                if not np.isfinite(price[i])
                else float(price[i] - (1.0 - bid.factor) * account.unit_mark_usd[i]),
            )
            for i in np.flatnonzero(account.size)
        )
        cash += float(bid.paid)
        left -= taken
        ratio = margin_ratio(maintenance * left, cash + value * left)
        fee = result.fee if k == 0 else Decimal(0)
        rounds.append(ReportRound(k, bid.elapsed_s, legs, fee, ratio))
    equity_after = result.cash_after_usd + value * result.fraction_left
    return result, tuple(rounds), equity_after, maintenance * result.fraction_left


def simulate_liquidation(
    portfolio: Portfolio,
    market: MarketSnapshot,
    moves: Mapping[str, float],
    parameters: LiquidationParameters,
    *,
    model: MarginModel | None,
    mode: LiquidationMode = LiquidationMode.CEX,
    fund: InsuranceFund | None = None,
    rng: np.random.Generator | None = None,
) -> LiquidationReport:
    """Liquidate ``portfolio`` at ``market`` moved by ``moves`` (see the module docstring).

    Only an account in the liquidatable or bankrupt band is liquidated; any other gets a report
    with no rounds (health after = before).

    Parameters
    ----------
    portfolio, market:
        The account and the market before the move.
    moves:
        Relative index move per underlying (−0.2 = −20 %), each > −1 (:func:`parse_moves`).
    parameters:
        Liquidation parameters.
    model:
        The margin model that decides health and the planner's requirement (``None``: the fast
        scenario margin of ``parameters``).
    mode:
        CEX rounds or the on-chain Dutch auction.
    fund:
        The insurance fund before (default: empty, so a bankruptcy shows its whole bad debt).
    rng:
        Seeded generator for the CEX depth draws (default: seed 0; same inputs, same report).
    """
    mode = LiquidationMode(mode)
    moved = market.shocked(dict(moves)) if moves else market
    account, margin = account_under_model(model, portfolio, moved, parameters)
    equity, maintenance = _state(account, margin)
    before = health_state(equity, maintenance, parameters.health)
    name = "scenario" if model is None else model.name
    fund = fund if fund is not None else InsuranceFund(Decimal(0))
    if before not in (HealthState.LIQUIDATABLE, HealthState.BANKRUPT):
        return LiquidationReport(
            mode, name, dict(moves), before, before, equity, maintenance, equity, maintenance,
            (), Decimal(0), Decimal(0),
        )  # fmt: skip
    if mode is LiquidationMode.CEX:
        cex = run_cex_liquidation(
            account, margin, parameters, fund, rng if rng is not None else np.random.default_rng(0)
        )
        after_equity, after_mm = _state(cex.account, margin)
        return LiquidationReport(
            mode,
            name,
            dict(moves),
            before,
            health_state(after_equity, after_mm, parameters.health),
            equity,
            maintenance,
            after_equity,
            after_mm,
            _cex_rounds(cex),
            cex.fund_delta,
            cex.bad_debt,
            cex=cex,
        )
    auction, rounds, after_equity, after_mm = _onchain(account, margin, parameters)
    bad_debt = Decimal(0)
    if after_equity < 0.0:
        bad_debt = margin_to_decimal(-after_equity, "USD", "bad_debt")
    return LiquidationReport(
        mode,
        name,
        dict(moves),
        before,
        health_state(after_equity, after_mm, parameters.health),
        equity,
        maintenance,
        after_equity,
        after_mm,
        rounds,
        auction.fee - auction.security_module_paid,
        bad_debt,
        auction=auction,
    )
