"""The models by name, as the CLI and the service offer them."""

from __future__ import annotations

from collections.abc import Callable

from crossmargin.collateral import HaircutSchedule, default_haircuts
from crossmargin.core.errors import InputError
from crossmargin.margin.base import MarginModel
from crossmargin.margin.cross import CrossMargin
from crossmargin.margin.isolated import IsolatedMargin
from crossmargin.margin.portfolio_margin import PortfolioMargin
from crossmargin.margin.span_model import SpanMargin
from crossmargin.margin.var import VarMargin

__all__ = ["MODEL_NAMES", "build_model"]

_FACTORIES: dict[str, Callable[[HaircutSchedule], MarginModel]] = {
    "isolated": lambda haircuts: IsolatedMargin(haircuts=haircuts),
    "cross": lambda haircuts: CrossMargin(haircuts=haircuts),
    "pm": lambda haircuts: PortfolioMargin(haircuts=haircuts),
    "span": lambda haircuts: SpanMargin(haircuts=haircuts),
    "var": lambda haircuts: VarMargin(haircuts=haircuts),
    "derive-pmrm": lambda haircuts: _derive_pmrm(),
}


def _derive_pmrm() -> MarginModel:
    """Derive's profile, imported on demand: ``crossmargin.compat`` builds on this package, so an
    eager import would be circular. Derive charges collateral haircuts inside its own requirement;
    passing ours would count them twice, so the profile keeps its own schedule."""
    from crossmargin.margin.derive_pmrm import DerivePmrmMargin

    return DerivePmrmMargin()


#: Model names in the order the side-by-side table shows them.
MODEL_NAMES: tuple[str, ...] = tuple(_FACTORIES)


def build_model(name: str, haircuts: HaircutSchedule | None = None) -> MarginModel:
    """The model called ``name`` with its shipped parameters (``InputError`` for unknown names)."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise InputError("model", name, f"must be one of {', '.join(MODEL_NAMES)}") from None
    return factory(haircuts or default_haircuts())
