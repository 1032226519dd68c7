"""The models by name, as the CLI and the service offer them.

Models receive everything they need as arguments: :func:`build_model` takes the haircut schedule
and the daily market history (only ``var`` uses it) and never reads a data file itself.
"""

from __future__ import annotations

from collections.abc import Callable

from crossmargin.collateral import HaircutSchedule, default_haircuts
from crossmargin.core.errors import InputError
from crossmargin.margin.base import MarginModel
from crossmargin.margin.derive import DerivePmrmMargin
from crossmargin.margin.pm import PortfolioMargin
from crossmargin.margin.span import SpanMargin
from crossmargin.margin.standard import CrossMargin, IsolatedMargin
from crossmargin.margin.var import VarMargin
from crossmargin.market.history import MarketHistory

__all__ = ["HISTORY_MODEL_NAMES", "MODEL_NAMES", "build_model"]

_Factory = Callable[[HaircutSchedule, MarketHistory | None], MarginModel]


def _var(haircuts: HaircutSchedule, history: MarketHistory | None) -> MarginModel:
    if history is None:
        raise InputError(
            "history",
            None,
            "the var model needs the daily market history (Binance closes, Deribit DVOL): pass "
            "history=load_market_history(<shared data directory>)",
        )
    return VarMargin(haircuts=haircuts, history=history)


_FACTORIES: dict[str, _Factory] = {
    "isolated": lambda haircuts, _history: IsolatedMargin(haircuts=haircuts),
    "cross": lambda haircuts, _history: CrossMargin(haircuts=haircuts),
    "pm": lambda haircuts, _history: PortfolioMargin(haircuts=haircuts),
    "span": lambda haircuts, _history: SpanMargin(haircuts=haircuts),
    "var": _var,
    # Derive charges collateral haircuts inside its own requirement; passing ours would count
    # them twice, so the profile keeps its own schedule.
    "derive-pmrm": lambda _haircuts, _history: DerivePmrmMargin(),
}


#: Model names in the order the side-by-side table shows them.
MODEL_NAMES: tuple[str, ...] = tuple(_FACTORIES)

#: The models that need ``history`` (a :class:`~crossmargin.market.history.MarketHistory`).
HISTORY_MODEL_NAMES: frozenset[str] = frozenset({"var"})


def build_model(
    name: str,
    haircuts: HaircutSchedule | None = None,
    *,
    history: MarketHistory | None = None,
) -> MarginModel:
    """The model called ``name`` with its shipped parameters.

    Parameters
    ----------
    name:
        One of :data:`MODEL_NAMES`.
    haircuts:
        Collateral haircut schedule (default :func:`~crossmargin.collateral.default_haircuts`).
    history:
        Daily closes and DVOL; required by the models of :data:`HISTORY_MODEL_NAMES` (``var``),
        ignored by the others.

    Returns
    -------
    MarginModel
        A ready model. Raises :class:`InputError` naming ``model`` for an unknown name, and naming
        ``history`` when ``var`` is asked for without one.
    """
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise InputError("model", name, f"must be one of {', '.join(MODEL_NAMES)}") from None
    return factory(haircuts or default_haircuts(), history)
