"""What the liquidation engine needs to know about one account, as arrays (state, no policy).

:class:`AccountRisk` holds the positions (sizes, minimum sizes, per-unit scenario P&L, mark and
notional) and the collateral; :class:`ScenarioMargin` is the default margin function over it
(worst scenario loss, MM a fixed fraction of IM, as Deribit's portfolio margin); anything with the
:class:`MarginFunction` shape can replace it (an adapter over a registered margin model or the
book engine). :func:`hedge_groups` ties legs that hedge each other so they are closed together.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.errors import InputError

__all__ = ["AccountRisk", "MarginFunction", "ScenarioMargin", "hedge_groups"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class MarginFunction(Protocol):
    """Initial and maintenance margin (USD ≥ 0) of many candidate size vectors at once."""

    def __call__(self, sizes: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``sizes`` (k, n) native sizes → (IM (k,), MM (k,)) in USD."""
        ...


@dataclass(frozen=True, slots=True)
class ScenarioMargin:
    """IM = max(0, −min over scenarios of Σ size·unit P&L); MM = ``maintenance_fraction`` × IM.

    ``unit_pnl_usd`` is (n, n_s): P&L in USD of +1 native unit of each position in each scenario.
    The default fraction 0.8 is Deribit portfolio margin's ``mm_factor`` (config/pm_deribit.toml).
    """

    unit_pnl_usd: FloatArray
    maintenance_fraction: float = 0.8

    def __call__(self, sizes: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(IM, MM) in USD of each row of ``sizes`` (k, n)."""
        pnl = np.atleast_2d(sizes) @ self.unit_pnl_usd
        initial = np.maximum(-pnl.min(axis=1), 0.0) if pnl.shape[1] else np.zeros(pnl.shape[0])
        return initial, initial * self.maintenance_fraction


@dataclass(frozen=True, eq=False)
class AccountRisk:
    """One account's positions and collateral as the liquidation engine sees them.

    Attributes
    ----------
    instruments:
        (n,) instrument names.
    size:
        (n,) native sizes, positive long.
    min_size:
        (n,) smallest tradable amount (the instrument's ``contract_size``), > 0; closes are
        multiples of it, or the whole position.
    unit_pnl_usd:
        (n, n_s) P&L of +1 unit per scenario, USD.
    unit_mark_usd:
        (n,) value of +1 unit at mark, USD (its P&L since entry for futures).
    unit_notional_usd:
        (n,) notional of +1 unit that slippage and fees are charged on, USD ≥ 0.
    depth_usd:
        (n,) book depth within 1 % of mid for each instrument, USD > 0.
    fee_rate:
        (n,) liquidation fee, fraction of notional.
    collateral_usd:
        Collateral value after haircuts, USD; equity = collateral + Σ size·unit mark.
    hedge_group:
        (n,) group id per position; a group is closed in proportion (:func:`hedge_groups`).
    unit_price_usd:
        Optional (n,) price of one unit as the order book quotes it, USD (forward for futures,
        premium for options); fills report it moved by their slippage. NaN when not given.
    """

    instruments: tuple[str, ...]
    size: FloatArray
    min_size: FloatArray
    unit_pnl_usd: FloatArray
    unit_mark_usd: FloatArray
    unit_notional_usd: FloatArray
    depth_usd: FloatArray
    fee_rate: FloatArray
    collateral_usd: float
    hedge_group: IntArray
    unit_price_usd: FloatArray | None = None

    def __post_init__(self) -> None:
        n = len(self.instruments)
        for name in (
            "size",
            "min_size",
            "unit_mark_usd",
            "unit_notional_usd",
            "depth_usd",
            "fee_rate",
            "hedge_group",
        ):
            array = np.asarray(getattr(self, name))
            if array.shape != (n,):
                raise InputError(name, array.shape, f"must have shape ({n},)")
            if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
                raise InputError(name, "non-finite", "must be finite")
        if np.asarray(self.unit_pnl_usd).ndim != 2 or self.unit_pnl_usd.shape[0] != n:
            raise InputError("unit_pnl_usd", np.shape(self.unit_pnl_usd), f"must be ({n}, n_s)")
        if np.any(self.min_size <= 0) or np.any(self.depth_usd <= 0):
            raise InputError("min_size/depth_usd", "≤ 0", "must be > 0")
        if np.any(self.unit_notional_usd < 0) or np.any(self.fee_rate < 0):
            raise InputError("unit_notional_usd/fee_rate", "< 0", "must be ≥ 0")

    @property
    def position_count(self) -> int:
        """Number of positions."""
        return len(self.instruments)

    def equity_usd(self, size: FloatArray | None = None) -> float:
        """Collateral + mark value of ``size`` (default the account's own), USD."""
        held = self.size if size is None else size
        return float(self.collateral_usd + held @ self.unit_mark_usd)

    def with_state(self, size: FloatArray, collateral_usd: float) -> AccountRisk:
        """The same account holding ``size`` with ``collateral_usd``."""
        return replace(
            self, size=np.asarray(size, dtype=np.float64), collateral_usd=float(collateral_usd)
        )


def hedge_groups(position_pnl_usd: FloatArray, hedge_correlation: float = -0.5) -> IntArray:
    """Group positions that hedge each other: two legs whose scenario P&L (size × unit P&L,
    (n, n_s) in USD) have correlation ≤ ``hedge_correlation`` are joined (transitively).

    Returns (n,) group ids, the smallest position index of each group, so the grouping is the
    same whatever the labels. A covered call's short call and long underlying (correlation −1)
    form one group; two longs in the same direction stay apart. Flat rows are their own group.
    """
    pnl = np.asarray(position_pnl_usd, dtype=np.float64)
    n = pnl.shape[0]
    parent = np.arange(n)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    centred = pnl - pnl.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1)
    live = norms > 0.0
    unit = np.zeros_like(centred)
    unit[live] = centred[live] / norms[live, None]
    correlation = unit @ unit.T
    for i, j in zip(*np.nonzero(np.triu(correlation <= hedge_correlation, k=1)), strict=True):
        if live[i] and live[j]:
            a, b = root(int(i)), root(int(j))
            parent[max(a, b)] = min(a, b)
    return np.array([root(i) for i in range(n)], dtype=np.int64)
