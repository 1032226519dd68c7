"""What the book engine returns: margin arrays over all accounts, and one pre-trade check."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from crossmargin.core.errors import CrossmarginError
from crossmargin.margin.health import margin_ratio

__all__ = [
    "AccountMargin",
    "BookMarginResult",
    "MissingDependencyError",
    "PreTradeCheck",
    "margin_ratios",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class MissingDependencyError(CrossmarginError, ImportError):
    """An optional package a conversion needs is not installed."""


def margin_ratios(maintenance: FloatArray, equity: FloatArray) -> FloatArray:
    """Maintenance margin / equity per account (dimensionless), by
    :func:`crossmargin.margin.health.margin_ratio`, the rule :attr:`MarginResult.margin_ratio`
    uses too: 0 when no margin is due, ``inf`` when margin is due and equity ≤ 0; above 1.0 the
    account is liquidatable."""
    return margin_ratio(maintenance, equity)


@dataclass(frozen=True, eq=False)
class BookMarginResult:
    """Margin of every account at once (USD floats, not rounded; index = account).

    Attributes
    ----------
    model:
        Name of the registered model spec (``crossmargin.engine.specs.MODEL_SPECS``).
    initial_margin, maintenance_margin:
        (n_accounts,) requirements, USD ≥ 0.
    equity:
        (n_accounts,) collateral value + the positions' mark value, USD.
    margin_ratio:
        (n_accounts,) maintenance margin / equity (above 1.0 means liquidatable).
    worst_scenario_index:
        (n_accounts,) index into ``scenario_labels`` of the worst scenario of the underlying with
        the largest scan risk; -1 for an account without positions.
    scenario_labels:
        The engine's scenarios, underlying by underlying.
    """

    model: str
    initial_margin: FloatArray
    maintenance_margin: FloatArray
    equity: FloatArray
    margin_ratio: FloatArray
    worst_scenario_index: IntArray
    scenario_labels: tuple[str, ...]

    def __post_init__(self) -> None:
        for name in (
            "initial_margin",
            "maintenance_margin",
            "equity",
            "margin_ratio",
            "worst_scenario_index",
        ):
            getattr(self, name).setflags(write=False)

    @property
    def account_count(self) -> int:
        """Number of accounts."""
        return int(self.initial_margin.shape[0])

    def worst_scenario_label(self, account: int) -> str | None:
        """Label of ``account``'s worst scenario (``None`` without positions)."""
        index = int(self.worst_scenario_index[account])
        return None if index < 0 else self.scenario_labels[index]

    def to_dict(self) -> dict[str, NDArray[Any]]:
        """Column name → array (one row per account), the table's columns."""
        return {
            "account": np.arange(self.account_count),
            "initial_margin": self.initial_margin,
            "maintenance_margin": self.maintenance_margin,
            "equity": self.equity,
            "margin_ratio": self.margin_ratio,
            "worst_scenario_index": self.worst_scenario_index,
        }

    def to_table(self) -> Any:
        """A ``pandas.DataFrame`` of :meth:`to_dict` indexed by account.

        Raises :class:`MissingDependencyError` when pandas is not installed (``pip install
        'crossmargin[tables]'``); :meth:`to_dict` needs nothing.
        """
        try:
            pandas = importlib.import_module("pandas")
        except ImportError:
            raise MissingDependencyError(
                "BookMarginResult.to_table() needs pandas: pip install 'crossmargin[tables]' "
                "(or use to_dict() for plain numpy arrays)"
            ) from None
        columns = self.to_dict()
        accounts = columns.pop("account")
        return pandas.DataFrame(columns, index=pandas.Index(accounts, name="account"))

    def to_arrow(self) -> Any:
        """A ``pyarrow.Table`` of :meth:`to_dict`; :class:`MissingDependencyError` without
        pyarrow."""
        try:
            pyarrow = importlib.import_module("pyarrow")
        except ImportError:
            raise MissingDependencyError(
                "BookMarginResult.to_arrow() needs pyarrow: pip install pyarrow "
                "(or use to_dict() for plain numpy arrays)"
            ) from None
        return pyarrow.table(self.to_dict())


@dataclass(frozen=True, slots=True)
class AccountMargin:
    """The margin of one account given by its holdings (:meth:`BookEngine.margin_of`): initial
    and maintenance margin (USD, ≥ 0) and the index of its worst scenario in
    ``BookEngine.scenario_labels`` (-1 when it holds nothing that moves)."""

    initial_margin: float
    maintenance_margin: float
    worst_scenario_index: int


@dataclass(frozen=True, slots=True)
class PreTradeCheck:
    """An account's margin before and after one hypothetical trade at the mark (USD floats).

    The trade pays its mark value from collateral, so equity does not change; ``accepted`` is
    True when the account still covers its initial margin after the trade, or when the trade
    does not raise it (a risk-reducing order is always let through).
    """

    account: int
    instrument_index: int
    size: float
    initial_margin_before: float
    maintenance_margin_before: float
    initial_margin: float
    maintenance_margin: float
    equity: float
    worst_scenario_index: int

    @property
    def margin_ratio(self) -> float:
        """Maintenance margin after the trade / equity, dimensionless
        (:func:`crossmargin.margin.health.margin_ratio`)."""
        return margin_ratio(self.maintenance_margin, self.equity)

    @property
    def available_usd(self) -> float:
        """Equity above the initial margin after the trade (negative: may not add risk)."""
        return self.equity - self.initial_margin

    @property
    def accepted(self) -> bool:
        """Whether a venue would let the order through (see the class docstring)."""
        return self.equity >= self.initial_margin or (
            self.initial_margin <= self.initial_margin_before
        )
