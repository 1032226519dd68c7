"""Synthetic but realistic books for the book engine: the accounts a derivatives venue holds.

**Market and instruments.** The Deribit BTC option chain of 2024-03-11
(:data:`~crossmargin.market.DERIBIT_CHAIN_2024_03_11` under the shared data directory, which the
caller passes as ``data_dir``; loaded by :func:`~crossmargin.market.load_deribit_chain` at its
inferred valuation time 15:17 UTC): its index,
its forwards and smiles, its 12 live expiries and its strikes. The chain has BTC only, so ETH is
built from it:

* ETH index 4,018.00 USD: the close of Binance ETHUSDT's 12:00–16:00 UTC bar of 2024-03-11
  (``shared/data/prices/binance_4h/ETHUSDT_4h.csv``), the bar holding the valuation time;
* ETH forwards: the BTC forward of the same expiry scaled by the index ratio (same basis);
* ETH smiles: BTC's smiles (in log-moneyness) shifted by +2.16 vol points, the gap between the
  ETH and BTC DVOL closes of that day (85.18 vs 83.02, ``shared/data/implied_vol/deribit_dvol``);
* ETH strikes: BTC's strikes scaled by the index ratio (4,018 / 72,011.29 ≈ 0.0558) and rounded
  to a Deribit-like grid (10 below 1,000, 25 below 2,500, 50 below 5,000, 100 above).

Delta-one contracts per underlying: the inverse and the USDC perpetual, the USDC spot pair and an
inverse future on every Friday expiry of the chain. Options are inverse (coin-settled), chosen
nearest the money first until ``n_instruments`` is reached (BTC takes 60 % of the option slots).

**Accounts.** Four kinds, as a venue sees them (shares of accounts):

* directional perpetual traders (about 70 %): 1–3 perpetual or futures positions, one side;
* basis traders (10 %): long spot or perpetual against short futures of the same coin notional;
* covered-call sellers (12 %): long spot, short out-of-the-money calls (5–25 % OTM, 1–3 expiries);
* market makers (the rest): options on both sides in windows of strikes around the money on 3–6
  expiries, delta-hedged (85–100 %) with the inverse perpetual.

Market makers carry most positions, and their share is set so the book averages
``positions_per_account`` positions (at 20: about 9 % of accounts holding 93 % of the
positions). Sizes are lognormal and rounded to Deribit's minimum amounts; collateral is a random
fraction of each account's gross notional, a few per cent of accounts thinly collateralised.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.errors import InputError
from crossmargin.instruments import (
    Instrument,
    InstrumentKind,
    OptionType,
    format_expiry,
    parse_instrument,
)
from crossmargin.market import DERIBIT_CHAIN_2024_03_11, MarketSnapshot, load_deribit_chain
from crossmargin.pricing import instrument_arrays, unit_greeks_usd

__all__ = [
    "ACCOUNT_KINDS",
    "ETH_INDEX_2024_03_11",
    "ETH_VOL_PREMIUM_2024_03_11",
    "SyntheticBook",
    "synthetic_book",
    "synthetic_instruments",
    "synthetic_market",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Binance ETHUSDT 4h bar 2024-03-11 12:00–16:00 UTC, close (shared/data/prices/binance_4h).
ETH_INDEX_2024_03_11 = 4018.0
#: ETH minus BTC DVOL close on 2024-03-11 (85.18 − 83.02 vol points, shared/data/implied_vol).
ETH_VOL_PREMIUM_2024_03_11 = 0.0216
#: Account kinds, in the order of :attr:`SyntheticBook.account_kind` codes.
ACCOUNT_KINDS = ("directional", "basis", "covered_call", "market_maker")
_DIRECTIONAL, _BASIS, _COVERED_CALL, _MARKET_MAKER = range(4)
_SMALL_SHARES = np.array([0.70, 0.10, 0.12])  # of accounts; market makers get the rest
_SMALL_POSITIONS = 0.70 * 1.25 + 0.10 * 2.26 + 0.12 * 2.91  # measured mean positions, first kinds
_BTC_OPTION_SHARE = 0.6
_OPTION_AMOUNT = {"BTC": 0.1, "ETH": 1.0}  # Deribit minimum option amounts, coin
_LINEAR_AMOUNT = {"BTC": 0.001, "ETH": 0.01}  # minimum linear amounts, coin
_INVERSE_AMOUNT = {"BTC": 10.0, "ETH": 1.0}  # inverse contract sizes, USD face
_KEY_SCALE = 1e8  # strike keys: slice × scale + strike, increasing over the flattened grid


@dataclass(frozen=True, eq=False)
class SyntheticBook:
    """A venue's book, ready for ``BookEngine(instruments, market)`` and
    ``engine.load_positions(account_index, instrument_index, size, collateral_usd)``.

    ``account_kind[a]`` indexes :data:`ACCOUNT_KINDS`. Positions are unique per (account,
    instrument), sorted by account then instrument, sizes in native units.
    """

    instruments: tuple[Instrument, ...]
    market: MarketSnapshot
    account_index: IntArray
    instrument_index: IntArray
    size: FloatArray
    collateral_usd: FloatArray
    account_kind: NDArray[np.int8]

    @property
    def account_count(self) -> int:
        """Number of accounts."""
        return int(self.collateral_usd.shape[0])

    @property
    def position_count(self) -> int:
        """Number of positions."""
        return int(self.size.shape[0])


def _chain_options(data_dir: str | Path) -> list[Instrument]:
    path = Path(data_dir) / DERIBIT_CHAIN_2024_03_11
    with path.open(newline="", encoding="utf-8") as handle:
        return [parse_instrument(row["instrument_name"]) for row in csv.DictReader(handle)]


def synthetic_market(data_dir: str | Path) -> MarketSnapshot:
    """The 2024-03-11 Deribit BTC chain's market with ETH added (see the module docstring).

    Parameters
    ----------
    data_dir:
        The shared data directory (holding :data:`~crossmargin.market.DERIBIT_CHAIN_2024_03_11`).

    Returns
    -------
    MarketSnapshot
        BTC from the chain (index, forwards, smiles, rate), ETH at 4,018 USD with BTC's forwards
        scaled by the index ratio and BTC's smiles shifted by +2.16 vol points.
    """
    btc = load_deribit_chain(Path(data_dir) / DERIBIT_CHAIN_2024_03_11)
    ratio = ETH_INDEX_2024_03_11 / btc.index("BTC")
    forwards = dict(btc.forwards_usd)
    for (asset, expiry), price in btc.forwards_usd.items():
        if asset == "BTC":
            forwards[("ETH", expiry)] = price * ratio
    surfaces = dict(btc.vol_surfaces)
    surfaces["ETH"] = btc.surface("BTC").shifted(ETH_VOL_PREMIUM_2024_03_11)
    return MarketSnapshot(
        btc.valuation_time,
        {"BTC": btc.index("BTC"), "ETH": ETH_INDEX_2024_03_11},
        btc.rate_annual,
        surfaces,
        forwards,
    )


def _eth_strike(strike: float) -> float:
    step = 10.0 if strike < 1000 else 25.0 if strike < 2500 else 50.0 if strike < 5000 else 100.0
    return max(step, round(strike / step) * step)


def synthetic_instruments(
    market: MarketSnapshot, n_instruments: int, data_dir: str | Path
) -> tuple[Instrument, ...]:
    """``n_instruments`` instruments on BTC and ETH from the chain's expiries and strikes:
    delta-one contracts first, then options nearest the money (:class:`InputError` when the
    chain cannot supply that many or fewer than the delta-one set plus two options).

    Parameters
    ----------
    market:
        Prices every instrument (usually :func:`synthetic_market`).
    n_instruments:
        How many instruments.
    data_dir:
        The shared data directory whose 2024-03-11 chain supplies the expiries and strikes.

    Returns
    -------
    tuple of Instrument
        Delta-one contracts first, then options by distance from the money.
    """
    chain = [
        item
        for item in _chain_options(data_dir)
        if item.expiry and item.expiry > market.valuation_time
    ]
    expiries = sorted({item.expiry for item in chain if item.expiry is not None})
    ratio = market.index("ETH") / market.index("BTC")
    delta_one: list[Instrument] = []
    for asset in ("BTC", "ETH"):
        delta_one += [
            parse_instrument(name)
            for name in (f"{asset}-PERPETUAL", f"{asset}_USDC-PERPETUAL", f"{asset}_USDC")
        ]
        delta_one += [
            parse_instrument(f"{asset}-{format_expiry(e)}") for e in expiries if e.weekday() == 4
        ]
    options: dict[str, list[tuple[float, Instrument]]] = {"BTC": [], "ETH": []}
    seen: set[tuple[str, datetime, float, OptionType]] = set()
    for item in chain:
        assert item.expiry is not None and item.strike is not None and item.option_type
        for asset, strike in (("BTC", item.strike), ("ETH", _eth_strike(item.strike * ratio))):
            key = (asset, item.expiry, strike, item.option_type)
            if key in seen:
                continue
            seen.add(key)
            forward = market.forward(asset, item.expiry)
            distance = abs(np.log(strike / forward)) / np.sqrt(market.t_years(item.expiry))
            option = Instrument(
                asset, asset, InstrumentKind.OPTION, item.expiry, strike, item.option_type
            )
            options[asset].append((float(distance), parse_instrument(option.name)))
    slots = n_instruments - len(delta_one)
    available = len(options["BTC"]) + len(options["ETH"])
    if slots < 2 or slots > available:
        raise InputError(
            "n_instruments",
            n_instruments,
            f"must lie in [{len(delta_one) + 2}, {len(delta_one) + available}] for this chain",
        )
    btc_slots = min(len(options["BTC"]), max(1, round(slots * _BTC_OPTION_SHARE)))
    eth_slots = min(len(options["ETH"]), slots - btc_slots)
    btc_slots = slots - eth_slots
    chosen = [
        option
        for asset, count in (("BTC", btc_slots), ("ETH", eth_slots))
        for _, option in sorted(options[asset], key=lambda pair: (pair[0], pair[1].name))[:count]
    ]
    chosen.sort(key=lambda item: (item.underlying, item.expiry, item.strike, item.is_call))
    return tuple(delta_one + chosen)


class _Catalog:
    """Instrument ids by role, and the option grid per (underlying, expiry)."""

    def __init__(self, instruments: tuple[Instrument, ...], market: MarketSnapshot) -> None:
        self.assets = ("BTC", "ETH")
        names = {item.name: i for i, item in enumerate(instruments)}
        self.inverse_perp = np.array([names[f"{a}-PERPETUAL"] for a in self.assets])
        self.linear_perp = np.array([names[f"{a}_USDC-PERPETUAL"] for a in self.assets])
        self.spot = np.array([names[f"{a}_USDC"] for a in self.assets])
        self.index = np.array([market.index(a) for a in self.assets])
        arrays = instrument_arrays(instruments, market)
        self.delta = unit_greeks_usd(arrays)["delta"]
        self.forward = arrays.forward_usd
        self.t_years = arrays.t_years
        self.is_inverse = arrays.is_inverse
        self.kind = arrays.kind
        self.underlying = np.array([self.assets.index(str(u)) for u in arrays.underlying])
        self.futures = [
            np.array([i for i, item in enumerate(instruments)
                      if item.underlying == a and item.kind is InstrumentKind.FUTURE])
            for a in self.assets
        ]  # fmt: skip
        grid: dict[tuple[int, datetime], dict[float, list[int]]] = {}
        for i, item in enumerate(instruments):
            if item.kind is InstrumentKind.OPTION:
                assert item.expiry is not None and item.strike is not None
                key = (self.assets.index(item.underlying), item.expiry)
                legs = grid.setdefault(key, {}).setdefault(item.strike, [-1, -1])
                legs[0 if item.is_call else 1] = i
        keys = sorted(grid)
        self.slice_underlying = np.array([u for u, _ in keys], dtype=np.int64)
        self.slice_expiry_t = np.array([market.t_years(e) for _, e in keys])
        starts: list[int] = []
        calls: list[int] = []
        puts: list[int] = []
        strikes: list[float] = []
        atm: list[int] = []
        for u, expiry in keys:
            rows = sorted(grid[(u, expiry)].items())
            starts.append(len(strikes))
            forward = market.forward(self.assets[u], expiry)
            atm.append(int(np.argmin([abs(k - forward) for k, _ in rows])))
            for strike, (call, put) in rows:
                strikes.append(strike)
                calls.append(call)
                puts.append(put)
        self.slice_start = np.array(starts, dtype=np.int64)
        self.slice_len: IntArray = np.diff([*starts, len(strikes)]).astype(np.int64)
        self.slice_atm = np.array(atm, dtype=np.int64)
        self.slice_forward = np.array([market.forward(self.assets[u], e) for u, e in keys])
        self.grid_strike = np.array(strikes)
        self.grid_call = np.array(calls, dtype=np.int64)
        self.grid_put = np.array(puts, dtype=np.int64)
        owner = np.repeat(np.arange(len(keys)), self.slice_len)
        self.grid_key = owner * _KEY_SCALE + self.grid_strike

    def slices_of(self, u: int) -> IntArray:
        return np.flatnonzero(self.slice_underlying == u)


_Positions = tuple[IntArray, IntArray, FloatArray]  # account, instrument, size


def _random_future(rng: np.random.Generator, c: _Catalog, asset: IntArray) -> IntArray:
    chosen = np.empty(asset.size, dtype=np.int64)
    for a in range(2):
        mine = np.flatnonzero(asset == a)
        chosen[mine] = c.futures[a][rng.integers(c.futures[a].size, size=mine.size)]
    return chosen


def _rounded(raw: FloatArray, step: FloatArray) -> FloatArray:
    """Round to a multiple of ``step``, at least one step, keeping the sign."""
    return np.sign(raw) * np.maximum(np.round(np.abs(raw) / step), 1.0) * step


def _lognormal(rng: np.random.Generator, median: float, sigma: float, count: int) -> FloatArray:
    return np.asarray(median * np.exp(sigma * rng.standard_normal(count)), dtype=np.float64)


def _directional(rng: np.random.Generator, c: _Catalog, ids: IntArray, u: IntArray) -> _Positions:
    count = 1 + (rng.random(ids.size) < 0.3) + (rng.random(ids.size) < 0.14)
    owner = np.repeat(np.arange(ids.size), count)
    side = np.where(rng.random(ids.size) < 0.55, 1.0, -1.0)[owner]
    asset = u[owner]
    notional = _lognormal(rng, 20_000.0, 1.5, owner.size) * side
    pick = rng.random(owner.size)
    instrument = np.where(pick < 0.55, c.inverse_perp[asset], c.linear_perp[asset])
    instrument[pick >= 0.85] = _random_future(rng, c, asset[pick >= 0.85])
    linear = ~c.is_inverse[instrument]
    size = np.where(
        linear,
        _rounded(notional / c.index[asset], np.array([0.001, 0.01])[asset]),
        _rounded(notional, np.array([10.0, 1.0])[asset]),
    )
    return ids[owner], instrument, size


def _basis(rng: np.random.Generator, c: _Catalog, ids: IntArray, u: IntArray) -> _Positions:
    notional = _lognormal(rng, 200_000.0, 1.2, ids.size)
    coin = notional / c.index[u]
    use_spot = rng.random(ids.size) < 0.4
    long_leg = np.where(use_spot, c.spot[u], c.inverse_perp[u])
    long_size = np.where(
        use_spot,
        _rounded(coin, np.array([0.001, 0.01])[u]),
        _rounded(notional, np.array([10.0, 1.0])[u]),
    )
    legs = 1 + (rng.random(ids.size) < 0.3)
    owner = np.repeat(np.arange(ids.size), legs)
    futures = _random_future(rng, c, u[owner])
    face = -coin[owner] / legs[owner] * c.forward[futures]
    short_size = _rounded(face, np.array([10.0, 1.0])[u[owner]])
    return (
        np.concatenate([ids, ids[owner]]),
        np.concatenate([long_leg, futures]),
        np.concatenate([long_size, short_size]),
    )


def _covered_calls(rng: np.random.Generator, c: _Catalog, ids: IntArray, u: IntArray) -> _Positions:
    coin = _lognormal(rng, 100_000.0, 1.2, ids.size) / c.index[u]
    spot_size = _rounded(coin, np.array([0.001, 0.01])[u])
    calls = rng.integers(1, 4, ids.size)
    owner = np.repeat(np.arange(ids.size), calls)
    asset = u[owner]
    picks = []
    for a in range(2):
        mine = np.flatnonzero(asset == a)
        eligible = c.slices_of(a)
        eligible = eligible[c.slice_expiry_t[eligible] >= 5.0 / 365.0]
        picks.append((mine, eligible[rng.integers(eligible.size, size=mine.size)]))
    slice_of = np.zeros(owner.size, dtype=np.int64)
    for mine, chosen in picks:
        slice_of[mine] = chosen
    target = c.slice_forward[slice_of] * (1.0 + rng.uniform(0.05, 0.25, owner.size))
    position = np.searchsorted(c.grid_key, slice_of * _KEY_SCALE + target)
    position = np.minimum(position, c.slice_start[slice_of] + c.slice_len[slice_of] - 1)
    instrument = c.grid_call[position]
    missing = instrument < 0
    instrument[missing] = c.grid_put[position[missing]]  # a strike listed as a put only
    amount = np.array([0.1, 1.0])[asset]
    size = -_rounded(coin[owner] * rng.uniform(0.5, 1.0, owner.size) / calls[owner], amount)
    return (
        np.concatenate([ids, ids[owner]]),
        np.concatenate([c.spot[u], instrument]),
        np.concatenate([spot_size, size]),
    )


def _market_makers(
    rng: np.random.Generator, c: _Catalog, ids: IntArray, u: IntArray, mean_positions: float
) -> _Positions:
    """Options in strike windows around the money on 3–6 expiries, then a perpetual hedge."""
    wanted = rng.uniform(0.5, 1.5, ids.size) * mean_positions
    expiries: IntArray = rng.integers(3, 7, ids.size).astype(np.int64)
    account_parts, slice_parts = [], []
    for a in range(2):
        mine = np.flatnonzero(u == a)
        slices = c.slices_of(a)
        order = np.argsort(rng.random((mine.size, slices.size)), axis=1)
        count = np.minimum(expiries[mine], slices.size)
        take = np.arange(slices.size)[None, :] < count[:, None]
        account_parts.append(np.repeat(mine, count))
        slice_parts.append(slices[order[take]])
    owner = np.concatenate(account_parts)
    slice_of = np.concatenate(slice_parts)
    per_expiry = wanted[owner] / (1.6 * np.minimum(expiries[owner], 1_000))
    half = np.maximum(1, np.round((per_expiry - 1.0) / 2.0)).astype(np.int64)
    width = 2 * half + 1
    row = np.repeat(np.arange(owner.size), width)
    offset = np.arange(row.size) - np.repeat(np.cumsum(width) - width, width) - half[row]
    strike = c.slice_atm[slice_of[row]] + offset
    inside = (strike >= 0) & (strike < c.slice_len[slice_of[row]])
    row, strike = row[inside], strike[inside]
    flat = c.slice_start[slice_of[row]] + strike
    legs = np.concatenate([c.grid_call[flat], c.grid_put[flat]])
    holder = np.concatenate([owner[row], owner[row]])
    keep = (legs >= 0) & (rng.random(legs.size) < 0.8)
    legs, holder = legs[keep], holder[keep]
    asset = u[holder]
    notional = _lognormal(rng, 150_000.0, 1.0, legs.size)
    side = np.where(rng.random(legs.size) < 0.55, -1.0, 1.0)
    size = _rounded(side * notional / c.index[asset], np.array([0.1, 1.0])[asset])
    net_delta = np.bincount(holder, weights=c.delta[legs] * size, minlength=ids.size)
    hedge = -rng.uniform(0.85, 1.0, ids.size) * net_delta * c.index[u]
    hedged = np.abs(hedge) >= 10.0
    return (
        np.concatenate([ids[holder], ids[hedged]]),
        np.concatenate([legs, c.inverse_perp[u[hedged]]]),
        np.concatenate([size, _rounded(hedge[hedged], np.array([10.0, 1.0])[u[hedged]])]),
    )


def _collateral(
    rng: np.random.Generator,
    c: _Catalog,
    kind: NDArray[np.int8],
    account: IntArray,
    instrument: IntArray,
    size: FloatArray,
) -> FloatArray:
    """A fraction of each account's gross notional (USD), by kind; 3 % of accounts thin."""
    index = c.index[c.underlying[instrument]]
    per_unit = np.where(c.is_inverse[instrument] & (c.kind[instrument] != 3), 1.0, index)
    gross = np.bincount(account, weights=np.abs(size) * per_unit, minlength=kind.size)
    low = np.array([0.15, 0.03, 0.05, 0.06])[kind]
    high = np.array([0.80, 0.15, 0.30, 0.30])[kind]
    fraction = rng.uniform(low, high)
    fraction = np.where(rng.random(kind.size) < 0.03, fraction * 0.1, fraction)
    return np.round(gross * fraction + 100.0, 2)


def synthetic_book(
    n_accounts: int,
    n_instruments: int = 2000,
    seed: int = 0,
    *,
    data_dir: str | Path,
    positions_per_account: float = 20.0,
    market: MarketSnapshot | None = None,
) -> SyntheticBook:
    """A realistic book of ``n_accounts`` accounts over ``n_instruments`` instruments (see the
    module docstring); the same arguments give the same bytes.

    Parameters
    ----------
    n_accounts:
        Number of accounts (≥ 1).
    n_instruments:
        Number of instruments (at least the 24 delta-one contracts plus 2 options, at most what
        the chain supplies, about 2,400).
    seed:
        Seed of the random generator.
    data_dir:
        The shared data directory (the 2024-03-11 Deribit chain's expiries, strikes and market).
    positions_per_account:
        Target average number of positions (market makers' share is set to reach it).
    market:
        Defaults to :func:`synthetic_market`; must price every instrument.
    """
    for name, value, low in (("n_accounts", n_accounts, 1), ("n_instruments", n_instruments, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InputError(name, value, f"must be an int >= {low}")
    if not np.isfinite(positions_per_account) or positions_per_account < 1.0:
        raise InputError("positions_per_account", positions_per_account, "must be >= 1")
    snapshot = synthetic_market(data_dir) if market is None else market
    instruments = synthetic_instruments(snapshot, n_instruments, data_dir)
    catalog = _Catalog(instruments, snapshot)
    rng = np.random.default_rng(seed)
    mean_mm = float(min(250.0, 0.4 * float(catalog.slice_len.sum())))
    share = (positions_per_account - _SMALL_POSITIONS) / (0.8 * mean_mm + 1.0 - _SMALL_POSITIONS)
    share = float(np.clip(share, 0.0, 0.5))
    shares = np.append(_SMALL_SHARES / _SMALL_SHARES.sum() * (1.0 - share), share)
    kind = rng.choice(4, size=n_accounts, p=shares).astype(np.int8)
    asset = (rng.random(n_accounts) < np.where(kind == _MARKET_MAKER, 0.3, 0.35)).astype(np.int64)
    parts = []
    for code, build in ((_DIRECTIONAL, _directional), (_BASIS, _basis),
                        (_COVERED_CALL, _covered_calls)):  # fmt: skip
        ids = np.flatnonzero(kind == code)
        parts.append(build(rng, catalog, ids, asset[ids]))
    ids = np.flatnonzero(kind == _MARKET_MAKER)
    parts.append(_market_makers(rng, catalog, ids, asset[ids], mean_mm))
    account = np.concatenate([p[0] for p in parts]).astype(np.int64)
    instrument = np.concatenate([p[1] for p in parts]).astype(np.int64)
    size = np.concatenate([p[2] for p in parts]).astype(np.float64)
    key = account * len(instruments) + instrument
    unique, first = np.unique(key, return_inverse=True)
    netted = np.bincount(first, weights=size, minlength=unique.size)
    keep = netted != 0.0
    account = unique[keep] // len(instruments)
    instrument = unique[keep] % len(instruments)
    size = netted[keep]
    collateral = _collateral(rng, catalog, kind, account, instrument, size)
    return SyntheticBook(instruments, snapshot, account, instrument, size, collateral, kind)
