"""Running margin models for the CLI: one failing model marks its own column failed.

The commands name the models (``pm`` or ``all``), this module builds them (loading the daily
history once, only when ``var`` is asked for), margins the account with each and keeps either the
result or the error, located in the portfolio file, so ``--model all`` still prints the models
that worked. It also says when the history does not cover the valuation time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from crossmargin.collateral import default_haircuts
from crossmargin.core.errors import CrossmarginError, FileInputError, InputError
from crossmargin.margin.base import MarginModel
from crossmargin.margin.registry import HISTORY_MODEL_NAMES, MODEL_NAMES, build_model
from crossmargin.margin.result import MarginResult
from crossmargin.market import MarketSnapshot
from crossmargin.market.history import MarketHistory
from crossmargin.portfolio import Portfolio
from crossmargin.shared_data import shared_market_history

__all__ = [
    "ModelOutcome",
    "ModelSet",
    "build_models",
    "located",
    "model_names",
    "run_models",
]

#: Top-level names of a ``[market]`` table; a model's error on one of them is a market field.
_MARKET_FIELDS = frozenset(
    {"valuation_time", "index_usd", "vol_annual", "vol_surfaces", "forwards_usd", "rate_annual"}
)

#: How stale the daily history may be (days before the valuation date) before a warning.
_STALE_HISTORY_DAYS = 3


@dataclass(frozen=True, slots=True)
class ModelOutcome:
    """One model's answer for one account: a result, or the error that stopped it."""

    model: str
    result: MarginResult | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ModelSet:
    """The models built for a command, the ones that could not be built (name → error) and
    warnings about their inputs (history coverage)."""

    models: tuple[MarginModel, ...]
    failed: dict[str, str]
    warnings: tuple[str, ...]


def model_names(model: str) -> list[str]:
    """The model names ``--model`` asks for (``all`` → every registered model, in order)."""
    if model == "all":
        return list(MODEL_NAMES)
    if model not in MODEL_NAMES:
        raise InputError("--model", model, f"must be one of {', '.join(MODEL_NAMES)} or all")
    return [model]


def located(error: CrossmarginError, file: Path) -> CrossmarginError:
    """``error`` naming ``file`` and the full field path (``market.valuation_time``) when it is
    about an input of the portfolio file; other errors unchanged."""
    if not isinstance(error, InputError) or isinstance(error, FileInputError):
        return error
    field = error.field
    if field.split(".", 1)[0].split("[", 1)[0] in _MARKET_FIELDS:
        field = f"market.{field}"
    return FileInputError(str(file), field, error.value, error.reason)


def _history_warnings(history: MarketHistory, market: MarketSnapshot) -> list[str]:
    day = market.valuation_time.date()
    if day - history.last_date > timedelta(days=_STALE_HISTORY_DAYS):
        gap = (day - history.last_date).days
        return [
            f"var: the daily history ends {history.last_date.isoformat()}, {gap:,} days before "
            f"market.valuation_time {day.isoformat()}: its scenarios are the last window the "
            "history holds, not the days before the valuation time"
        ]
    if day < history.first_date:
        return [
            f"var: the daily history starts {history.first_date.isoformat()}, after "
            f"market.valuation_time {day.isoformat()}"
        ]
    return []


def build_models(names: Sequence[str], market: MarketSnapshot) -> ModelSet:
    """Build the models called ``names``; the history is loaded once, only if one needs it.

    A model that cannot be built (no shared data for ``var``) is recorded as failed, with the
    reason, instead of stopping the others.
    """
    haircuts = default_haircuts()
    history: MarketHistory | None = None
    failed: dict[str, str] = {}
    warnings: list[str] = []
    if any(name in HISTORY_MODEL_NAMES for name in names):
        try:
            history = shared_market_history()
        except CrossmarginError as error:
            for name in names:
                if name in HISTORY_MODEL_NAMES:
                    failed[name] = str(error)
        else:
            warnings.extend(_history_warnings(history, market))
    models = tuple(
        build_model(name, haircuts, history=history) for name in names if name not in failed
    )
    return ModelSet(models, failed, tuple(warnings))


def run_models(
    model_set: ModelSet,
    names: Sequence[str],
    portfolio: Portfolio,
    market: MarketSnapshot,
    file: Path,
) -> list[ModelOutcome]:
    """Margin ``portfolio`` under every model of ``names`` (in that order), keeping failures."""
    by_name = {model.name: model for model in model_set.models}
    outcomes: list[ModelOutcome] = []
    for name in names:
        if name in model_set.failed:
            outcomes.append(ModelOutcome(name, None, model_set.failed[name]))
            continue
        try:
            outcomes.append(ModelOutcome(name, by_name[name].margin(portfolio, market)))
        except CrossmarginError as error:
            outcomes.append(ModelOutcome(name, None, str(located(error, file))))
    return outcomes
