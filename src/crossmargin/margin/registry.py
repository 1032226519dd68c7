"""The models by name, as the CLI and the service offer them."""

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

__all__ = ["MODEL_NAMES", "build_model"]

_FACTORIES: dict[str, Callable[[HaircutSchedule], MarginModel]] = {
    "isolated": lambda haircuts: IsolatedMargin(haircuts=haircuts),
    "cross": lambda haircuts: CrossMargin(haircuts=haircuts),
    "pm": lambda haircuts: PortfolioMargin(haircuts=haircuts),
    "span": lambda haircuts: SpanMargin(haircuts=haircuts),
    "var": lambda haircuts: VarMargin(haircuts=haircuts),
    # Derive charges collateral haircuts inside its own requirement; passing ours would count
    # them twice, so the profile keeps its own schedule.
    "derive-pmrm": lambda _haircuts: DerivePmrmMargin(),
}


#: Model names in the order the side-by-side table shows them.
MODEL_NAMES: tuple[str, ...] = tuple(_FACTORIES)


def build_model(name: str, haircuts: HaircutSchedule | None = None) -> MarginModel:
    """The model called ``name`` with its shipped parameters (``InputError`` for unknown names)."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise InputError("model", name, f"must be one of {', '.join(MODEL_NAMES)}") from None
    return factory(haircuts or default_haircuts())
