"""The VaR model receives its history as an argument and never reads a file (no hidden I/O).

The history here is built in memory from seeded arrays, so these tests need no shared data: they
hold the wiring (constructor, registry, service start-up), not the numbers.
"""

from __future__ import annotations

import builtins
import io
import os
import secrets
from datetime import date
from pathlib import Path
from typing import NoReturn

import numpy as np
import pytest
from fastapi import FastAPI

from crossmargin.collateral import default_haircuts
from crossmargin.core.errors import InputError
from crossmargin.margin.registry import HISTORY_MODEL_NAMES, MODEL_NAMES, build_model
from crossmargin.margin.var import VarMargin, load_var_parameters
from crossmargin.market import MarketSnapshot, VolSurface
from crossmargin.market.history import MarketHistory
from crossmargin.portfolio import Portfolio
from crossmargin.service import app as service_app
from crossmargin.service import builtin_market, create_app
from crossmargin.service.context import ServiceContext
from support.markets import NOW

MARKET = MarketSnapshot(
    valuation_time=NOW,
    index_usd={"BTC": 72_000.0, "ETH": 4_000.0},
    vol_surfaces={"BTC": VolSurface.flat(0.6), "ETH": VolSurface.flat(0.7)},
)
PORTFOLIO = Portfolio.of([("BTC-29MAR24-70000-P", -2.0), ("ETH_USDC-PERPETUAL", 5.0)])


def _history_from_arrays() -> MarketHistory:
    """2019-01-01..2024-03-10: seeded lognormal closes (3 % daily), DVOL around 60 %."""
    dates = np.arange(
        np.datetime64(date(2019, 1, 1), "D"), np.datetime64(date(2024, 3, 11), "D")
    ).astype("datetime64[D]")
    rng = np.random.default_rng(20240311)
    closes, dvol = {}, {}
    for asset, start in (("BTC", 4_000.0), ("ETH", 150.0), ("SOL", 2.0)):
        closes[asset] = start * np.exp(np.cumsum(rng.normal(0.0, 0.03, dates.size)))
    for asset in ("BTC", "ETH"):
        dvol[asset] = 60.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, dates.size)))
    return MarketHistory(dates, closes, dvol)


HISTORY = _history_from_arrays()


def _refuse(*args: object, **kwargs: object) -> NoReturn:
    raise AssertionError(f"file I/O during margin(): {args[:1]!r}")


def test_margin_opens_no_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """With every way of opening a file refused, a fresh model (given its parameters, haircuts and
    an in-memory history) builds and margins; the result equals an unrestricted run's."""
    parameters, haircuts = load_var_parameters(), default_haircuts()
    expected = VarMargin(parameters, haircuts, history=HISTORY).margin(PORTFOLIO, MARKET)
    for owner, name in (
        (builtins, "open"),
        (io, "open"),
        (os, "open"),
        (Path, "open"),
        (Path, "read_text"),
        (Path, "read_bytes"),
    ):
        monkeypatch.setattr(owner, name, _refuse)
    result = VarMargin(parameters, haircuts, history=HISTORY).margin(PORTFOLIO, MARKET)
    monkeypatch.undo()
    assert result.initial_margin == expected.initial_margin > 0
    assert result.components == expected.components


def test_the_model_requires_its_history() -> None:
    assert VarMargin(history=HISTORY).history is HISTORY
    with pytest.raises(InputError) as raised:
        VarMargin(history=None)  # type: ignore[arg-type]
    assert raised.value.field == "history"


def test_build_model_var_without_history_names_the_field() -> None:
    with pytest.raises(InputError) as raised:
        build_model("var")
    assert raised.value.field == "history"
    assert "load_market_history" in raised.value.reason
    assert frozenset({"var"}) == HISTORY_MODEL_NAMES
    model = build_model("var", history=HISTORY)
    assert isinstance(model, VarMargin) and model.history is HISTORY
    for name in set(MODEL_NAMES) - HISTORY_MODEL_NAMES:
        assert build_model(name).name == name


#: A random admin key (the service refuses keys below 128 bits of entropy).
ADMIN_KEY = secrets.token_urlsafe(32)


def _context(app: FastAPI) -> ServiceContext:
    context = app.state.service
    assert isinstance(context, ServiceContext)
    return context


def test_the_service_loads_the_history_at_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A history handed to the factory is the one the var model holds: nothing is left to load
    when a request comes."""
    monkeypatch.setenv("CROSSMARGIN_SECRETS_DIR", str(tmp_path / "secrets"))
    app = create_app(
        f"sqlite:///{tmp_path / 'ledger.db'}",
        ADMIN_KEY,
        builtin_market(),
        history=HISTORY,
    )
    context = _context(app)
    try:
        model = context.model("var")
        assert isinstance(model, VarMargin) and model.history is HISTORY
    finally:
        context.close()


def test_without_shared_data_the_service_does_not_offer_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No data set found at start-up: every other model is offered; var answers a 422 naming the
    model and what is missing; enforcing var refuses to start."""
    monkeypatch.setattr(service_app, "find_shared_data_dir", lambda: None)
    monkeypatch.setenv("CROSSMARGIN_SECRETS_DIR", str(tmp_path / "secrets"))
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    context = _context(create_app(url, ADMIN_KEY))
    try:
        assert set(context.models) == set(MODEL_NAMES) - {"var"}
        with pytest.raises(InputError, match="not offered by this service") as raised:
            context.model("var")
        assert raised.value.field == "model"
        assert "CROSSMARGIN_SHARED_DATA" in raised.value.reason
        assert dict(context.market.current().index_usd) == {"BTC": 72000.0, "ETH": 4000.0}
    finally:
        context.close()
    with pytest.raises(InputError, match="CROSSMARGIN_SHARED_DATA") as refused:
        create_app(url, ADMIN_KEY, risk_model="var")
    assert refused.value.field == "CROSSMARGIN_RISK_MODEL"
