"""Partial liquidation against "close everything" and "largest position first" (issue 15).

Builds a seeded set of liquidatable BTC accounts on real instrument types (linear perpetual and
future, calls and puts on the 29MAR24 expiry, priced by the project's Black-76 pricer at BTC
72,000 USD, 60 % vol, 2024-03-11 15:17 UTC). Each is built by
:func:`crossmargin.liquidation.account_risk` and margined by its scenario margin (price −16 % …
+16 % in 9 steps × vol unchanged, +25, −10 points; MM = 0.8 × IM; minimum sizes the contract
sizes; Deribit's liquidation fees; depth $14M for futures, $0.5M for options), with equity
between 60 % and 100 % of MM. Each strategy is planned on the same accounts with the shipped
parameters (``config/liquidation.toml``); the table reports per account on average: collateral
lost (slippage + fees, USD), notional closed, equity and residual risk after (IM and MM, USD),
the share of accounts brought back to equity ≥ IM, and how many plans raised the maintenance
margin on the way (a hedge stripped from its naked leg).

    .venv/bin/python benchmarks/liquidation_strategies.py [--accounts 300] [--seed 15]

The table in docs/liquidation.md is this script's output with the defaults; nothing is timed.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np

from crossmargin.instruments import parse_instrument
from crossmargin.liquidation import (
    AccountRisk,
    LiquidationParameters,
    LiquidationPlan,
    ScenarioMargin,
    account_risk,
    load_liquidation_parameters,
    plan_close_everything,
    plan_largest_first,
    plan_partial_liquidation,
)
from crossmargin.market import MarketSnapshot, VolSurface

NAMES = (
    "BTC_USDC-PERPETUAL",
    "BTC_USDC-29MAR24",
    "BTC_USDC-29MAR24-70000-C",
    "BTC_USDC-29MAR24-80000-C",
    "BTC_USDC-29MAR24-65000-P",
)
PERP, FUT, CALL_70, CALL_80, PUT_65 = range(5)
MARKET = MarketSnapshot(
    valuation_time=datetime(2024, 3, 11, 15, 17, tzinfo=UTC),
    index_usd={"BTC": 72_000.0},
    rate_annual=0.0,
    vol_surfaces={"BTC": VolSurface.flat(0.6)},
)


def _book(rng: np.random.Generator, kind: int) -> np.ndarray:
    """Sizes in BTC (5,) of one account of ``kind``: 0 directional, 1 basis, 2 covered call,
    3 call spread + perpetual, 4 hedged short straddle."""
    q = float(np.round(rng.lognormal(np.log(3.0), 0.8), 1)) + 0.1
    side = float(rng.choice([-1.0, 1.0]))
    size = np.zeros(5)
    if kind == 0:
        size[PERP] = side * q
    elif kind == 1:
        size[PERP], size[FUT] = q * 1.3, -q
    elif kind == 2:
        size[PERP], size[CALL_80] = q, -q
    elif kind == 3:
        size[CALL_70], size[CALL_80], size[PERP] = q, -q, side * q * 0.5
    else:
        size[CALL_70], size[PUT_65], size[PERP] = -q, -q, -0.2 * q
    return size


def liquidatable_accounts(
    count: int, seed: int, params: LiquidationParameters
) -> list[tuple[AccountRisk, ScenarioMargin]]:
    """``count`` accounts (kinds in turn) built by :func:`account_risk`, each with collateral
    such that equity / MM is uniform in [0.6, 1.0)."""
    rng = np.random.default_rng(seed)
    instruments = [parse_instrument(name) for name in NAMES]
    accounts = []
    for a in range(count):
        size = _book(rng, a % 5)
        risk, margin = account_risk(instruments, size, MARKET, 0.0, params)
        _, maintenance = margin(size[None, :])
        collateral = float(maintenance[0]) * rng.uniform(0.6, 1.0) - risk.equity_usd()
        accounts.append((risk.with_state(size, collateral), margin))
    return accounts


Strategy = Callable[..., LiquidationPlan]
STRATEGIES: tuple[tuple[str, Strategy], ...] = (
    ("partial (least cost, hedges kept)", plan_partial_liquidation),
    ("close everything", plan_close_everything),
    ("largest position first", plan_largest_first),
)


def _raised_margin(plan: LiquidationPlan, margin: ScenarioMargin) -> bool:
    remaining = plan.size_before.copy()
    _, before = margin(remaining[None, :])
    for step in plan.steps:
        remaining = remaining - step
        _, after = margin(remaining[None, :])
        if after[0] > before[0] + 1e-6:
            return True
        before = after
    return False


def comparison_rows(count: int = 300, seed: int = 15) -> list[dict[str, float | str]]:
    """One row per strategy with the averages over the same accounts (see module docstring)."""
    params = load_liquidation_parameters()
    accounts = liquidatable_accounts(count, seed, params)
    rows: list[dict[str, float | str]] = []
    for name, strategy in STRATEGIES:
        plans = [
            (strategy(account, margin, params.planner, params.slippage), margin)
            for account, margin in accounts
        ]
        rows.append(
            {
                "strategy": name,
                "collateral_lost_usd": float(np.mean([p.cost_usd for p, _ in plans])),
                "notional_closed_usd": float(
                    np.mean(
                        [
                            np.abs(p.close_size) @ a.unit_notional_usd
                            for (p, _), (a, _) in zip(plans, accounts, strict=True)
                        ]
                    )
                ),
                "equity_after_usd": float(np.mean([p.equity_after_usd for p, _ in plans])),
                "initial_after_usd": float(np.mean([p.initial_after_usd for p, _ in plans])),
                "maintenance_after_usd": float(
                    np.mean([p.maintenance_after_usd for p, _ in plans])
                ),
                "target_met_share": float(np.mean([p.target_met for p, _ in plans])),
                "raised_mm_count": float(sum(_raised_margin(p, m) for p, m in plans)),
            }
        )
    return rows


def markdown_table(rows: list[dict[str, float | str]], count: int) -> str:
    """The rows as the Markdown table of docs/liquidation.md."""
    lines = [
        f"| strategy ({count} accounts) | collateral lost (USD) | notional closed (USD) | "
        "equity after (USD) | IM after (USD) | MM after (USD) | equity ≥ IM after | "
        "plans that raised MM |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['strategy']} | {r['collateral_lost_usd']:,.2f} | "
            f"{r['notional_closed_usd']:,.0f} | {r['equity_after_usd']:,.2f} | "
            f"{r['initial_after_usd']:,.2f} | "
            f"{r['maintenance_after_usd']:,.2f} | {float(r['target_met_share']):.1%} | "
            f"{int(float(r['raised_mm_count']))} |"
        )
    return "\n".join(lines)


KINDS = ("directional", "basis", "covered call", "call spread + perp", "hedged short straddle")


def by_kind_table(count: int = 300, seed: int = 15) -> str:
    """Mean collateral lost (USD) and MM after (USD) per account kind and strategy."""
    params = load_liquidation_parameters()
    accounts = liquidatable_accounts(count, seed, params)
    header = " | ".join(f"{name}: lost / MM after" for name, _ in STRATEGIES)
    lines = [f"| account kind | {header} |", "|---" * (len(STRATEGIES) + 1) + "|"]
    for k, kind in enumerate(KINDS):
        cells = []
        for _, strategy in STRATEGIES:
            plans = [
                strategy(account, margin, params.planner, params.slippage)
                for account, margin in accounts[k::5]
            ]
            lost = np.mean([p.cost_usd for p in plans])
            after = np.mean([p.maintenance_after_usd for p in plans])
            cells.append(f"{lost:,.2f} / {after:,.2f}")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    print(markdown_table(comparison_rows(args.accounts, args.seed), args.accounts))
    print()
    print(by_kind_table(args.accounts, args.seed))


if __name__ == "__main__":
    main()
