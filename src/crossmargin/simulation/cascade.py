"""Liquidation cascades: a shock, forced selling into finite depth, a lower price, more
liquidations, round after round until nothing is left to liquidate.

One round (``r``):

1. the price each account is checked at is the true price (CEX) or the oracle's, ``lag`` rounds
   old (on-chain); the margin source gives every account's IM, MM and mark value there
   (:mod:`~crossmargin.simulation.margin_sources`: one incremental book-engine recompute for pm);
   dynamic parameters scale IM and MM with the volatility the cascade itself realises;
2. equity = cash + coin collateral at market + mark value; MM also carries each coin's haircut
   (× its value) and, while a bridge is halted, the whole value of the collateral behind it;
3. accounts with equity < ``reduce_only_from`` × MM (Binance's 1.05 band, ``HealthBands``) or
   equity ≤ 0 are liquidated, most underwater first; each closes the fraction ``f`` of every
   position (rounded up to tenths, as the partial planner steps) that brings equity back to IM
   after its estimated cost, or everything when that cannot be done;
4. the closed delta (and the sold coin collateral) is the round's flow per market; it moves the
   price by the square-root law on the depth left (:mod:`~crossmargin.simulation.impact`,
   :mod:`~crossmargin.simulation.depth`), fills are 2/3 of the way, fees go to the fund;
5. an account left with equity < 0 and nothing open is bankrupt: the fund covers what it can; the
   rest goes to auto-deleveraging (:mod:`~crossmargin.simulation.adl`) — its residual is closed
   against opposing accounts instead of the market — or stays as unresolved bad debt.

Money balances every round (a unit test checks it): the liquidated accounts' equity change equals
slippage + fees + keeper discounts + bridged collateral seized − shortfall paid in, and the
shortfall = fund cover + ADL losses + unresolved.

Float64 throughout: the cascade reports risk, nothing is posted to the ledger (the liquidation
package's Decimal money is for single accounts and ledger postings).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.errors import InputError
from crossmargin.margin.health import DEFAULT_HEALTH_BANDS, HealthBands
from crossmargin.riskparams import load_dynamic_parameters
from crossmargin.simulation.adl import AdlPolicy, allocate_adl
from crossmargin.simulation.depth import (
    DepthParameters,
    depth_factor,
    market_maker_loss_usd,
    next_stress,
)
from crossmargin.simulation.impact import (
    ImpactParameters,
    fill_distance,
    impact_log_move,
    propagated_log_impact,
)
from crossmargin.simulation.margin_sources import MarginSource, _Exposures
from crossmargin.simulation.venues import VenueMode, VenueParameters

__all__ = [
    "CascadeConfig",
    "CascadeResult",
    "CollateralHoldings",
    "DynamicMargin",
    "run_cascade",
    "shock_moves",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
_SECONDS_PER_YEAR = 365.0 * 86400.0


@dataclass(frozen=True, eq=False)
class CollateralHoldings:
    """Coin collateral per account: ``units[a, k]`` of ``assets[k]`` (≥ 0), ``haircut[k]`` in
    [0, 1); ``bridged[a, k]`` of those units sit behind a bridge (included in ``units``)."""

    assets: tuple[str, ...]
    units: FloatArray
    haircut: FloatArray
    bridged: FloatArray

    @classmethod
    def none(cls, accounts: int) -> CollateralHoldings:
        """No coin collateral (cash only)."""
        return cls((), np.zeros((accounts, 0)), np.zeros(0), np.zeros((accounts, 0)))

    def __post_init__(self) -> None:
        count = len(self.assets)
        if self.units.ndim != 2 or self.units.shape[1] != count:
            raise InputError("units", self.units.shape, f"must be (accounts, {count})")
        if self.bridged.shape != self.units.shape:
            raise InputError("bridged", self.bridged.shape, f"must be {self.units.shape}")
        if np.any(self.units < 0) or np.any(self.bridged < 0) or np.any(self.bridged > self.units):
            raise InputError(
                "units", "negative", "units and bridged must be >= 0, bridged <= units"
            )
        if self.haircut.shape != (count,) or np.any((self.haircut < 0) | (self.haircut >= 1)):
            raise InputError("haircut", self.haircut.tolist(), "must lie in [0, 1), one per asset")


@dataclass(frozen=True, slots=True)
class DynamicMargin:
    """Dynamic parameters: IM and MM × ``range(σ)/static_range`` with ``range(σ) =
    clamp(per_vol · σ, floor, cap)`` (config/dynamic_parameters.toml) and σ an EWMA (RiskMetrics
    λ = 0.94 per round) of the cascade's own annualised round returns, starting at
    ``start_vol_annual``. Static: multiplier 1."""

    start_vol_annual: float = 0.569
    static_range: float = 0.16
    decay: float = 0.94

    def multiplier(self, vol_annual: float) -> float:
        """IM/MM multiplier (dimensionless ≥ floor / static) at annual vol ``vol_annual``."""
        ranges = load_dynamic_parameters().ranges
        wanted = min(max(ranges.price_range_per_vol * vol_annual, ranges.price_range_floor),
                     ranges.price_range_cap)  # fmt: skip
        return float(wanted / self.static_range)


@dataclass(frozen=True)
class CascadeConfig:
    """Everything about a cascade run except the book.

    ``log_moves``: (T, markets) exogenous log move of each market from the start at round t (a
    one-off shock: one row); after T rounds the last row holds. ``markets`` names the columns;
    ``depth_usd`` gives the 1 % depth of the markets liquidations trade in (others take no flow).
    ``skip_breached_at_start``: accounts already in the liquidation band before the shock are
    left out (a venue would have liquidated them already); :attr:`CascadeResult.skipped` counts
    them.
    """

    markets: tuple[str, ...]
    log_moves: FloatArray
    depth_usd: Mapping[str, float]
    venue: VenueParameters = field(default_factory=VenueParameters)
    impact: ImpactParameters = field(default_factory=ImpactParameters)
    depth: DepthParameters = field(default_factory=DepthParameters)
    bands: HealthBands = DEFAULT_HEALTH_BANDS
    dynamic: DynamicMargin | None = None
    adl_policy: AdlPolicy = AdlPolicy.PROFIT_LEVERAGE
    fund_usd: float = 0.0
    bridge_halt_rounds: int = 0
    round_seconds: float = 60.0
    step_fraction: float = 0.1
    max_rounds: int = 200
    seed: int = 0
    skip_breached_at_start: bool = True

    def __post_init__(self) -> None:
        moves = np.asarray(self.log_moves, dtype=np.float64)
        if moves.ndim != 2 or moves.shape[1] != len(self.markets) or moves.shape[0] < 1:
            raise InputError("log_moves", moves.shape, f"must be (T >= 1, {len(self.markets)})")
        if not np.all(np.isfinite(moves)):
            raise InputError("log_moves", "non-finite", "must be finite")
        object.__setattr__(self, "log_moves", moves)
        for name, value in self.depth_usd.items():
            if name not in self.markets or not (np.isfinite(value) and value > 0):
                raise InputError(f"depth_usd[{name}]", value, "must be > 0 for a listed market")
        if not (np.isfinite(self.fund_usd) and self.fund_usd >= 0):
            raise InputError("fund_usd", self.fund_usd, "must be >= 0")
        if self.max_rounds < 1 or self.bridge_halt_rounds < 0:
            raise InputError("max_rounds", self.max_rounds, "must be >= 1 (halt >= 0)")


#: Per-round columns of :attr:`CascadeResult.rounds`, USD unless named otherwise.
ROUND_COLUMNS = (
    "liquidated", "liquidated_notional_usd", "fees_usd", "slippage_usd", "keeper_usd",
    "shortfall_usd", "fund_cover_usd", "adl_loss_usd", "unresolved_usd", "fund_usd",
    "adl_events", "adl_notional_usd", "over_liquidation_usd", "adl_loss_on_losers_usd",
    "bridge_seized_usd", "bridge_recovered_usd", "equity_change_usd", "margin_multiplier",
)  # fmt: skip


@dataclass(frozen=True, eq=False)
class CascadeResult:
    """A cascade: per-round table, price path, per-account outcome and totals.

    ``rounds[name]`` are (R,) arrays for :data:`ROUND_COLUMNS`; ``prices`` (R + 1, markets) USD
    (row 0: before the shock); ``depth_factor`` (R, markets); ``flow_usd`` (R, markets) signed;
    ``first_liquidated`` (n,) round of an account's first liquidation (−1: never);
    ``equity_start`` / ``equity_end`` (n,) at the start and end prices.
    """

    markets: tuple[str, ...]
    rounds: dict[str, FloatArray]
    prices: FloatArray
    depth_factor: FloatArray
    flow_usd: FloatArray
    first_liquidated: IntArray
    equity_start: FloatArray
    equity_end: FloatArray
    fund_start: float
    fund_end: float
    skipped: int = 0

    @property
    def round_count(self) -> int:
        """Number of rounds run."""
        return int(self.prices.shape[0] - 2)

    @property
    def accounts_liquidated(self) -> int:
        """Accounts liquidated at least once."""
        return int(np.count_nonzero(self.first_liquidated >= 0))

    @property
    def cascade_rounds(self) -> int:
        """Rounds with at least one liquidation."""
        return int(np.count_nonzero(self.rounds["liquidated"] > 0))

    def total(self, name: str) -> float:
        """Sum of a :data:`ROUND_COLUMNS` column over the rounds."""
        return float(np.sum(self.rounds[name]))

    @property
    def bad_debt_usd(self) -> float:
        """Loss the fund could not cover: passed on by ADL plus unresolved, USD ≥ 0."""
        return self.total("adl_loss_usd") + self.total("unresolved_usd")

    def price_move(self, market: str) -> float:
        """End price over start price − 1 of ``market`` (−0.25 = down 25 %)."""
        k = self.markets.index(market)
        return float(self.prices[-1, k] / self.prices[0, k] - 1.0)

    def summary(self) -> dict[str, float]:
        """Headline numbers: rounds, accounts, notional, fund drawdown, bad debt, ADL, moves."""
        out = {
            "rounds": float(self.round_count),
            "cascade_rounds": float(self.cascade_rounds),
            "accounts_liquidated": float(self.accounts_liquidated),
            "liquidated_notional_usd": self.total("liquidated_notional_usd"),
            "fund_drawdown_usd": max(0.0, self.fund_start - float(np.min(self.rounds["fund_usd"],
                                                                          initial=self.fund_start))),
            "fund_change_usd": self.fund_end - self.fund_start,
            "bad_debt_usd": self.bad_debt_usd,
            "unresolved_usd": self.total("unresolved_usd"),
            "adl_events": self.total("adl_events"),
            "over_liquidation_usd": self.total("over_liquidation_usd"),
        }  # fmt: skip
        for market in self.markets:
            out[f"move_{market}"] = self.price_move(market)
        return out


@dataclass
class _State:
    scale: FloatArray
    cash: FloatArray
    units: FloatArray
    bridged: FloatArray
    stress: FloatArray
    impacts: list[FloatArray]
    pending: dict[int, FloatArray]
    frozen_units: FloatArray  # bridged units seized from bankrupt accounts, per asset
    fund: float
    var: float
    offset: FloatArray | None = None  # arbitrage shift of the local log price (several venues)


def _round_up(fraction: FloatArray, step: float) -> FloatArray:
    return np.minimum(1.0, np.ceil(np.maximum(fraction, 1e-12) / step - 1e-9) * step)


class _Cascade:
    """One run's arrays (built once) and its round step."""

    def __init__(
        self,
        source: MarginSource,
        cash_usd: FloatArray,
        collateral: CollateralHoldings,
        config: CascadeConfig,
    ) -> None:
        self.source, self.config = source, config
        table = source.table
        self.n = table.account_count
        self.markets = config.markets
        self.underlyings = table.underlyings
        missing = [u for u in self.underlyings if u not in self.markets]
        if missing:
            raise InputError("markets", list(self.markets), f"must include {missing[0]}")
        coin_missing = [a for a in collateral.assets if a not in self.markets]
        if coin_missing:
            raise InputError("markets", list(self.markets), f"must include {coin_missing[0]}")
        self.under_col = np.array([self.markets.index(u) for u in self.underlyings], np.int64)
        self.coin_col = np.array([self.markets.index(a) for a in collateral.assets], np.int64)
        self.start = np.array([self._start_price(m) for m in self.markets])
        self.depth0 = np.array([config.depth_usd.get(m, np.inf) for m in self.markets])
        self.has_depth = np.isfinite(self.depth0)
        self.fee_rate = np.array(
            [
                config.venue.fee_rate_btc if u == "BTC" else config.venue.fee_rate_other
                for u in self.underlyings
            ]
        )
        self.haircut = collateral.haircut
        self.rng = np.random.default_rng(config.seed)
        self.cash0 = np.asarray(cash_usd, dtype=np.float64)
        if self.cash0.shape != (self.n,):
            raise InputError("cash_usd", self.cash0.shape, f"must be ({self.n},)")
        self.collateral = collateral
        self.has_positions = np.bincount(table.account_index, minlength=self.n) > 0
        self.exposures = _Exposures(table)

    def _start_price(self, market: str) -> float:
        try:
            return float(self.source.table.market.index(market))
        except (
            InputError,
            KeyError,
        ):  # a collateral asset the book's market does not quote: USD-pegged
            return 1.0

    def moves(self, log_price: FloatArray) -> dict[str, float]:
        return {u: float(np.expm1(log_price[c])) for u, c in zip(self.underlyings, self.under_col,
                                                                   strict=True)}  # fmt: skip

    def exogenous(self, r: int) -> FloatArray:
        rows = self.config.log_moves
        return np.asarray(rows[min(r, rows.shape[0] - 1)], dtype=np.float64)


def _equity(run: _Cascade, state: _State, value: FloatArray, prices: FloatArray) -> FloatArray:
    coin_value = state.units @ prices[run.coin_col] if run.coin_col.size else 0.0
    return np.asarray(state.cash + coin_value + value, dtype=np.float64)


def run_cascade(
    source: MarginSource,
    cash_usd: FloatArray,
    config: CascadeConfig,
    collateral: CollateralHoldings | None = None,
    progress: Callable[[int], None] | None = None,
) -> CascadeResult:
    """Run a cascade on ``source``'s book (see the module docstring for one round).

    Parameters
    ----------
    source:
        Margin of every account (pm/span on the book engine, cross, isolated, or a fake).
    cash_usd:
        (n,) USD cash collateral per account (≥ 0).
    config:
        Markets, exogenous moves, depth, venue, impact, ADL policy, fund, seed.
    collateral:
        Coin collateral (default: none).
    progress:
        Called with the round index after each round (a progress bar).

    Returns
    -------
    CascadeResult (USD; the same inputs and seed give identical numbers).
    """
    begun = _begin(source, cash_usd, config, collateral)
    for r in range(config.max_rounds):
        begun.step(r)
        if progress is not None:
            progress(r)
        if begun.done(r):
            break
    return begun.finish()


class _Running:
    """A cascade between its rounds: arrays, state, the local price path and the tables."""

    def __init__(
        self,
        source: MarginSource,
        cash_usd: FloatArray,
        config: CascadeConfig,
        collateral: CollateralHoldings | None,
    ) -> None:
        holdings = (
            CollateralHoldings.none(source.table.account_count)
            if collateral is None
            else collateral
        )
        run = _Cascade(source, cash_usd, holdings, config)
        state = _State(
            np.ones(run.n), run.cash0.copy(), holdings.units.copy(), holdings.bridged.copy(),
            np.zeros(len(run.markets)), [], {}, np.zeros(len(holdings.assets)), config.fund_usd,
            (config.dynamic.start_vol_annual if config.dynamic else 0.5) ** 2,
            np.zeros(len(run.markets)),
        )  # fmt: skip
        self.run, self.state = run, state
        self.log_prices = [np.zeros(len(run.markets)), run.exogenous(0).copy()]
        start_margin = source.margin({}, state.scale)
        self.equity_start = _equity(run, state, start_margin.value, run.start)
        skipped = np.zeros(run.n, dtype=bool)
        if config.skip_breached_at_start:
            coin_add = (
                state.units @ (run.start[run.coin_col] * run.haircut) if run.coin_col.size else 0.0
            )
            skipped = run.has_positions & (
                self.equity_start
                < config.bands.reduce_only_from * (start_margin.maintenance + coin_add)
            )
            state.scale[skipped] = 0.0
        self.skipped = int(np.count_nonzero(skipped))
        self.table: dict[str, list[float]] = {name: [] for name in ROUND_COLUMNS}
        self.depth_rows: list[FloatArray] = []
        self.flow_rows: list[FloatArray] = []
        self.first = np.full(run.n, -1, dtype=np.int64)
        self.quiet = 0
        self.last_liquidated = 0.0

    def step(self, r: int, oracle: list[FloatArray] | None = None) -> None:
        """Round ``r``; appends the next local log price (``oracle``: the log price path the
        venue checks margin on, lagged, instead of its own)."""
        row, flow, factor = _step(self.run, self.state, r, self.log_prices, self.first, oracle)
        for name in ROUND_COLUMNS:
            self.table[name].append(row.get(name, 0.0))
        self.depth_rows.append(factor)
        self.flow_rows.append(flow)
        self.last_liquidated = row["liquidated"]

    def done(self, r: int) -> bool:
        """Whether the cascade has settled after round ``r``."""
        config = self.run.config
        settled = (
            self.last_liquidated == 0
            and not self.state.pending
            and r + 1 >= config.log_moves.shape[0]
        )
        self.quiet = self.quiet + 1 if settled else 0
        return (
            self.quiet >= 1 + config.venue.oracle_lag_rounds
            and r + 1 > config.venue.outage_rounds
            and r + 1 > config.bridge_halt_rounds
        )

    def shift(self, target: FloatArray) -> None:
        """Move the last local log price to ``target`` (arbitrage); the shift persists."""
        assert self.state.offset is not None
        self.state.offset += target - self.log_prices[-1]
        self.log_prices[-1] = np.asarray(target, dtype=np.float64).copy()

    def finish(self) -> CascadeResult:
        """The result at the last local price."""
        run, state, config = self.run, self.state, self.run.config
        prices = run.start * np.exp(np.array(self.log_prices))
        end_margin = run.source.margin(run.moves(self.log_prices[-1]), state.scale)
        equity_end = _equity(run, state, end_margin.value, prices[-1])
        return CascadeResult(
            run.markets, {k: np.array(v, dtype=np.float64) for k, v in self.table.items()},
            prices, np.array(self.depth_rows), np.array(self.flow_rows), self.first,
            self.equity_start, equity_end, config.fund_usd, state.fund, self.skipped,
        )  # fmt: skip


def _begin(
    source: MarginSource,
    cash_usd: FloatArray,
    config: CascadeConfig,
    collateral: CollateralHoldings | None = None,
) -> _Running:
    """A cascade ready for its first round (several venues step them side by side)."""
    return _Running(source, cash_usd, config, collateral)


def _step(
    run: _Cascade,
    state: _State,
    r: int,
    log_prices: list[FloatArray],
    first: IntArray,
    oracle: list[FloatArray] | None = None,
) -> tuple[dict[str, float], FloatArray, FloatArray]:
    """One round; appends the next log price; returns the round's row, flow and depth factor."""
    config, venue = run.config, run.config.venue
    now = log_prices[-1]
    path = log_prices if oracle is None else oracle
    seen = path[max(0, len(path) - 1 - venue.oracle_lag_rounds)]
    prices_seen = run.start * np.exp(seen)
    halted = r < config.bridge_halt_rounds
    row: dict[str, float] = {}
    recovered = 0.0
    if r == config.bridge_halt_rounds and config.bridge_halt_rounds > 0 and run.coin_col.size:
        recovered = float(
            state.frozen_units @ (run.start[run.coin_col] * np.exp(now[run.coin_col]))
        )
        state.fund += recovered
        state.frozen_units[:] = 0.0
    row["bridge_recovered_usd"] = recovered
    margins = run.source.margin(run.moves(seen), state.scale)
    multiplier = 1.0
    if config.dynamic is not None:
        multiplier = max(1.0, config.dynamic.multiplier(float(np.sqrt(state.var))))
    row["margin_multiplier"] = multiplier
    coin_prices = prices_seen[run.coin_col]
    haircut_add = state.units @ (coin_prices * run.haircut) if run.coin_col.size else 0.0
    halted_value = state.bridged @ coin_prices if (halted and run.coin_col.size) else 0.0
    maintenance = margins.maintenance * multiplier + haircut_add + halted_value
    initial = margins.initial * multiplier + haircut_add + halted_value
    equity = _equity(run, state, margins.value, prices_seen)
    exposed = (state.scale > 0) & run.has_positions
    breach = exposed & (((maintenance > 0) & (equity < config.bands.reduce_only_from * maintenance))
                        | (equity <= 0))  # fmt: skip
    if r < venue.outage_rounds:
        breach[:] = False
    candidates = np.flatnonzero(breach)
    ratio = np.where(
        equity[candidates] > 0,
        maintenance[candidates] / np.maximum(equity[candidates], 1e-300),
        np.inf,
    )
    order = candidates[np.lexsort((candidates, -ratio))]  # most underwater first, ties by index
    delta, gross = run.exposures.deltas_usd(run.moves(seen), order, state.scale)
    depth_now = run.depth0 * depth_factor(state.stress, config.depth)
    own = impact_log_move(np.abs(delta), depth_now[run.under_col], config.impact)
    fill_est = fill_distance(own, config.impact)
    onchain = venue.mode is VenueMode.ONCHAIN
    if onchain:
        cost_est = (venue.keeper_discount + venue.security_fee_rate) * np.abs(equity[order])
        keeper_gain = venue.keeper_discount * np.maximum(equity[order], 0.0) \
            - np.sum(np.abs(delta) * fill_est, axis=1)  # fmt: skip
        worth = (keeper_gain >= venue.gas_usd + venue.keeper_min_profit_usd) | (equity[order] <= 0)
        keep = np.flatnonzero(worth)
        if venue.capacity_per_round is not None:
            keep = keep[: venue.capacity_per_round]
        order, delta, gross, cost_est = order[keep], delta[keep], gross[keep], cost_est[keep]
        fill_est = fill_est[keep]
    else:
        cost_est = np.sum(np.abs(delta) * (fill_est + run.fee_rate), axis=1)
    e_now, im_now = equity[order], initial[order]
    with np.errstate(divide="ignore", invalid="ignore"):
        wanted = np.where(im_now > cost_est, (im_now - e_now) / (im_now - cost_est), 1.0)
    fraction = _round_up(np.clip(wanted, 0.0, 1.0), config.step_fraction)
    fraction = np.where(e_now <= 0, 1.0, fraction)
    if venue.max_close_usd_per_account is not None:  # dYdX: per-block notional limit
        cap = venue.max_close_usd_per_account / np.maximum(gross, 1e-300)
        fraction = np.minimum(fraction, np.where(gross > 0, cap, 1.0))
    row["liquidated"] = float(order.size)
    first[order] = np.where(first[order] < 0, r, first[order])
    # flows: positions closed (sold if long) and coin collateral sold, per market
    closed_delta = delta * fraction[:, None]
    coin_sold = np.zeros((order.size, len(run.coin_col)))
    if run.coin_col.size:
        sellable = state.units[order] - (state.bridged[order] if halted else 0.0)
        coin_sold = sellable * fraction[:, None]
    flow_now = np.zeros(len(run.markets))
    cover = _shortfall_plan(run, state, order, equity, margins.value, fraction, closed_delta,
                            coin_sold, coin_prices, fill_est, halted)  # fmt: skip
    to_market = ~cover["adl_bound"]
    position_flow = np.zeros(len(run.markets))
    np.add.at(position_flow, run.under_col, -np.sum(closed_delta[to_market], axis=0))
    coin_flow = np.zeros(len(run.markets))
    if run.coin_col.size:
        np.add.at(coin_flow, run.coin_col, -np.sum(coin_sold * coin_prices, axis=0))
    new_flow = position_flow + coin_flow
    if onchain and venue.flow_delay_rounds > 0 and np.any(new_flow != 0):
        due = r + venue.flow_delay_rounds
        state.pending[due] = state.pending.get(due, np.zeros(len(run.markets))) + new_flow
    elif not onchain or venue.flow_delay_rounds == 0:
        flow_now += new_flow
    flow_now += state.pending.pop(r, np.zeros(len(run.markets)))
    flow_now = np.where(run.has_depth, flow_now, 0.0)
    safe_depth = np.where(run.has_depth, depth_now, 1.0)
    peak = np.where(run.has_depth, impact_log_move(flow_now, safe_depth, config.impact), 0.0)
    fill = fill_distance(peak, config.impact)
    # money of the liquidated accounts, at the round's check price
    if onchain:
        slippage = np.zeros(order.size)
        keeper = venue.keeper_discount * np.maximum(e_now, 0.0) * fraction
        fees = venue.security_fee_rate * np.abs(e_now) * fraction
    else:
        slippage = np.sum(np.abs(closed_delta) * fill[run.under_col], axis=1)
        keeper = np.zeros(order.size)
        fees = np.sum(np.abs(closed_delta) * run.fee_rate, axis=1)
    if run.coin_col.size:
        slippage += np.sum(coin_sold * coin_prices * fill[run.coin_col], axis=1)
    fees = np.minimum(fees, np.maximum(e_now - slippage - keeper, 0.0))
    value_now = margins.value[order]
    state.cash[order] += fraction * value_now - slippage - fees - keeper
    if run.coin_col.size:
        state.cash[order] += np.sum(coin_sold * coin_prices, axis=1)
        state.units[order] -= coin_sold
    state.scale[order] *= 1.0 - fraction
    state.fund += float(fees.sum())
    e_after = state.cash[order] + (state.units[order] @ coin_prices if run.coin_col.size else 0.0) \
        + (1.0 - fraction) * value_now  # fmt: skip
    row["equity_change_usd"] = float(np.sum(e_after - e_now))
    row["liquidated_notional_usd"] = float(np.sum(gross * fraction))
    row["fees_usd"], row["slippage_usd"] = float(fees.sum()), float(slippage.sum())
    row["keeper_usd"] = float(keeper.sum())
    _settle_bankrupt(run, state, order, fraction, e_after, closed_delta, margins, equity,
                     maintenance, coin_prices, halted, cover, row, run.moves(seen))  # fmt: skip
    # the next price: exogenous path plus the propagated impact of every round so far
    state.impacts.append(peak)
    impact_now = propagated_log_impact(np.array(state.impacts), config.impact)
    nxt = run.exogenous(r + 1) + impact_now
    if state.offset is not None:
        nxt = nxt + state.offset
    state.stress = next_stress(state.stress, nxt - now, market_maker_loss_usd(flow_now, peak),
                               np.where(run.has_depth, run.depth0, 1.0), config.depth)  # fmt: skip
    step = (nxt - now)[run.under_col]
    state.var = (config.dynamic.decay if config.dynamic else 0.94) * state.var + (
        1.0 - (config.dynamic.decay if config.dynamic else 0.94)
    ) * float(np.max(step**2, initial=0.0)) * _SECONDS_PER_YEAR / config.round_seconds
    log_prices.append(nxt)
    row["fund_usd"] = state.fund
    return row, flow_now, depth_factor(state.stress, config.depth)


def _shortfall_plan(
    run: _Cascade, state: _State, order: IntArray, equity: FloatArray, value: FloatArray,
    fraction: FloatArray, closed_delta: FloatArray, coin_sold: FloatArray,
    coin_prices: FloatArray, fill_est: FloatArray, halted: bool,
) -> dict[str, NDArray[np.bool_]]:  # fmt: skip
    """Which fully closed accounts will be bankrupt with an uncovered loss (their residual goes
    to ADL, not to the market): estimated with the pre-round fills, the fund in order."""
    estimate = equity[order] - np.sum(np.abs(closed_delta) * fill_est, axis=1)
    if halted and run.coin_col.size:
        estimate = estimate - state.bridged[order] @ coin_prices
    short = np.maximum(-estimate, 0.0) * (fraction >= 1.0)
    fund_left = state.fund - np.cumsum(short)
    adl_bound = (short > 0) & (fund_left < 0)
    return {"adl_bound": adl_bound}


def _settle_bankrupt(
    run: _Cascade, state: _State, order: IntArray, fraction: FloatArray, e_after: FloatArray,
    closed_delta: FloatArray, margins: object, equity: FloatArray, maintenance: FloatArray,
    coin_prices: FloatArray, halted: bool, cover: dict[str, NDArray[np.bool_]],
    row: dict[str, float], seen_moves: Mapping[str, float],
) -> None:  # fmt: skip
    """Fund cover, ADL and unresolved bad debt of the accounts closed whole below zero."""
    config = run.config
    seized_value = np.zeros(order.size)
    if halted and run.coin_col.size:
        seized_value = state.bridged[order] @ coin_prices
    seizable = e_after - seized_value
    bankrupt = (fraction >= 1.0) & (seizable < 0)
    totals = {"shortfall_usd": 0.0, "fund_cover_usd": 0.0, "adl_loss_usd": 0.0,
              "unresolved_usd": 0.0, "adl_events": 0.0, "adl_notional_usd": 0.0,
              "over_liquidation_usd": 0.0, "adl_loss_on_losers_usd": 0.0,
              "bridge_seized_usd": 0.0}  # fmt: skip
    value = getattr(margins, "value")  # noqa: B009 - AccountMargins
    book_delta: FloatArray | None = None
    for k in np.flatnonzero(bankrupt):
        a = int(order[k])
        shortfall = float(-seizable[k])
        totals["shortfall_usd"] += shortfall
        if halted and run.coin_col.size:
            totals["bridge_seized_usd"] += float(seized_value[k])
            state.frozen_units += state.bridged[a]
            state.units[a] -= state.bridged[a]
            state.bridged[a] = 0.0
        covered = min(state.fund, shortfall)
        state.fund -= covered
        totals["fund_cover_usd"] += covered
        uncovered = shortfall - covered
        state.cash[a] += shortfall  # paid in: the account ends at exactly zero
        if uncovered <= 0:
            continue
        residual = closed_delta[k]
        u = int(np.argmax(np.abs(residual)))
        needed = float(abs(residual[u]))
        if book_delta is None:
            book_delta = _book_delta(run, state, seen_moves)
        opposing = np.maximum(-float(np.sign(residual[u])) * book_delta[:, u], 0.0)
        opposing[a] = 0.0
        wallet = state.cash + (state.units @ coin_prices if run.coin_col.size else 0.0)
        upnl = value * 1.0
        allocation = allocate_adl(config.adl_policy, needed, uncovered, opposing, upnl, wallet,
                                  maintenance, run.rng)  # fmt: skip
        taken = float(allocation.loss_usd.sum())
        totals["adl_loss_usd"] += taken
        totals["unresolved_usd"] += uncovered - taken
        totals["adl_events"] += float(allocation.account.size)
        totals["adl_notional_usd"] += float(allocation.closed_usd.sum())
        for c, closed, loss in zip(allocation.account, allocation.closed_usd, allocation.loss_usd,
                                   strict=True):  # fmt: skip
            c = int(c)
            share = closed / max(opposing[c], 1e-300)
            profit = float(upnl[c])
            if profit >= loss:
                totals["over_liquidation_usd"] += float(closed)
            if profit <= 0:
                totals["adl_loss_on_losers_usd"] += float(loss)
            state.cash[c] += share * float(value[c]) - loss
            value[c] *= 1.0 - share
            state.scale[c] *= 1.0 - share
            book_delta[c] *= 1.0 - share
    row.update(totals)


def _book_delta(run: _Cascade, state: _State, moves: Mapping[str, float]) -> FloatArray:
    """(n, U) every live account's USD delta per underlying (0 for closed accounts)."""
    alive = np.flatnonzero((state.scale > 0) & run.has_positions)
    delta, _ = run.exposures.deltas_usd(moves, alive, state.scale)
    out = np.zeros((run.n, len(run.underlyings)))
    out[alive] = delta
    return out


def shock_moves(markets: Sequence[str], shock: Mapping[str, float]) -> FloatArray:
    """(1, markets) log moves of a one-off shock: ``shock[market]`` relative (−0.2 = down 20 %)
    at round 0, held after (0 for a market not named)."""
    return np.array([[float(np.log1p(shock.get(m, 0.0))) for m in markets]], dtype=np.float64)
