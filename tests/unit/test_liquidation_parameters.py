"""Liquidation parameters: the shipped TOML, its sources, and rejected values."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossmargin.core.errors import InputError
from crossmargin.liquidation import (
    AdlRanking,
    Requirement,
    ShortfallPolicy,
    load_liquidation_parameters,
)


def test_shipped_defaults_are_the_cited_venue_values() -> None:
    """Binance PM bands 1.5/1.2/1.05; Deribit fees 0.5 % BTC futures, 0.9 % ETH, 0.2 %
    options; Derive auction 0.95 → 0.70 over 900 s, → 0 over 43,200 s, fee 10 %, buffer 15 %."""
    p = load_liquidation_parameters()
    assert p.version == "2026-12-06.1"
    assert p.health.edges == (1.5, 1.2, 1.05)
    assert (p.cex.btc_future_fee_rate, p.cex.future_fee_rate, p.cex.option_fee_rate) == (
        0.005, 0.009, 0.002,
    )  # fmt: skip
    a = p.auction
    assert (a.start_factor, a.fast_end_factor, a.fast_phase_s, a.slow_phase_s) == (
        0.95, 0.70, 900.0, 43_200.0,
    )  # fmt: skip
    assert (a.insolvent_phase_s, a.fee_rate, a.buffer_rate) == (3600.0, 0.10, 0.15)
    assert p.planner.requirement is Requirement.INITIAL
    assert p.insurance.shortfall_policy is ShortfallPolicy.ADL
    assert p.insurance.adl_ranking is AdlRanking.BINANCE


def test_every_default_line_cites_a_source() -> None:
    """Each key line of the shipped file carries a comment naming its source or our choice."""
    text = (Path(__file__).parents[2] / "src/crossmargin/config/liquidation.toml").read_text()
    keys = [line for line in text.splitlines() if "=" in line and not line.startswith("#")]
    assert keys and all("#" in line for line in keys if not line.startswith("version"))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ('version = "x"\n[auction]\nstart_factor = 1.5\n', "auction.start_factor"),
        ('version = "x"\n[cex]\nround_notional_usd = -1.0\n', "cex.round_notional_usd"),
        ('version = "x"\n[planner]\nrequirement = "equity"\n', "planner.requirement"),
        ('version = "x"\n[cex]\nspeed = 3\n', "cex.speed"),
        ('version = "x"\n[health]\nhealthy_from = 1.0\n', "health"),
        ('version = "x"\n[fees]\n', "fees"),
    ],
)
def test_bad_values_are_rejected_naming_the_field(tmp_path: Path, body: str, field: str) -> None:
    path = tmp_path / "liquidation.toml"
    path.write_text(body)
    with pytest.raises(InputError) as error:
        load_liquidation_parameters(path)
    assert field in str(error.value)
