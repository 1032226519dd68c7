"""Liquidation engine (issue 15): health, partial liquidation, CEX rounds, Dutch auctions,
insurance fund and auto-deleveraging.

* :func:`book_health`, :class:`BookHealth` — every account of the book engine at once;
  :func:`distances_to_liquidation` — liquidation and bankruptcy prices per underlying;
* :class:`AccountRisk`, :class:`ScenarioMargin`, :func:`hedge_groups` — one account as arrays;
  :func:`account_risk`, :func:`account_risk_from_engine` build them from positions or from a
  book-engine account; :func:`liquidation_queue` — the book-wide order after a market move;
* :func:`plan_partial_liquidation` (least cost, hedges kept together) and the baselines
  :func:`plan_close_everything`, :func:`plan_largest_first`;
* :func:`run_cex_liquidation` — incremental rounds with depth-based slippage and fees;
* :func:`run_dutch_auction` — Derive's auction per block with keepers, gas and oracle lag;
* :class:`InsuranceFund`, :func:`resolve_shortfall`, :func:`auto_deleverage`,
  :func:`socialise_loss`, :func:`adl_scores` — who pays a bankrupt account's loss (Decimal);
* :func:`load_liquidation_parameters` — ``config/liquidation.toml``;
* :class:`ModelMargin`, :func:`account_under_model` — the planner over a registered margin model
  (the exact, slow path; :class:`ScenarioMargin` stays the fast one);
* :func:`liquidate_book` — every liquidatable account of a book engine after a market move, in
  order (the simulation's cascades call it; pure, no ledger);
* :func:`simulate_liquidation` — one account after a move, CEX or on-chain (``crossmargin
  liquidate``); :func:`round_transfers` — a CEX liquidation as Decimal ledger transfers.

This package sits above ``engine`` and ``margin`` and below ``simulation``; it never imports the
ledger, the service or the CLI: it returns Decimal transfers for the ledger to post.
"""

from crossmargin.liquidation.account import (
    AccountRisk,
    MarginFunction,
    ScenarioMargin,
    hedge_groups,
)
from crossmargin.liquidation.auction import (
    AuctionBid,
    AuctionEnd,
    AuctionResult,
    auction_price_factor,
    buffer_margin_usd,
    insolvent_payment_usd,
    max_bid_fraction,
    run_dutch_auction,
)
from crossmargin.liquidation.book import (
    AccountLiquidation,
    BookLiquidation,
    MarginFactory,
    liquidate_book,
)
from crossmargin.liquidation.build import (
    account_risk,
    account_risk_from_engine,
    liquidation_queue,
)
from crossmargin.liquidation.cex import CexLiquidation, CexRound, Fill, run_cex_liquidation
from crossmargin.liquidation.health import (
    BookHealth,
    UnderlyingDistance,
    account_bankruptcy_prices,
    book_health,
    distances_to_liquidation,
)
from crossmargin.liquidation.insurance import (
    AdlFill,
    FundDraw,
    InsuranceFund,
    ShortfallResolution,
    adl_scores,
    auto_deleverage,
    resolve_shortfall,
    socialise_loss,
)
from crossmargin.liquidation.model_margin import SCENARIO_MODEL, ModelMargin, account_under_model
from crossmargin.liquidation.parameters import (
    AdlRanking,
    AuctionParameters,
    CexParameters,
    InsuranceParameters,
    LiquidationParameters,
    PlannerParameters,
    Requirement,
    ScenarioParameters,
    ShortfallPolicy,
    SlippageParameters,
    load_liquidation_parameters,
)
from crossmargin.liquidation.planner import (
    LiquidationPlan,
    close_cost_usd,
    plan_close_everything,
    plan_largest_first,
    plan_partial_liquidation,
    rounded_close,
)
from crossmargin.liquidation.simulate import (
    ClosedLeg,
    LiquidationMode,
    LiquidationReport,
    ReportRound,
    parse_moves,
    simulate_liquidation,
)
from crossmargin.liquidation.slippage import execution_cost_usd, slippage_fraction
from crossmargin.liquidation.transfers import FillTransfer, RoundTransfer, round_transfers

__all__ = [
    "SCENARIO_MODEL",
    "AccountLiquidation",
    "AccountRisk",
    "AdlFill",
    "AdlRanking",
    "AuctionBid",
    "AuctionEnd",
    "AuctionParameters",
    "AuctionResult",
    "BookHealth",
    "BookLiquidation",
    "CexLiquidation",
    "CexParameters",
    "CexRound",
    "ClosedLeg",
    "Fill",
    "FillTransfer",
    "FundDraw",
    "InsuranceFund",
    "InsuranceParameters",
    "LiquidationMode",
    "LiquidationParameters",
    "LiquidationPlan",
    "LiquidationReport",
    "MarginFactory",
    "MarginFunction",
    "ModelMargin",
    "PlannerParameters",
    "ReportRound",
    "Requirement",
    "RoundTransfer",
    "ScenarioMargin",
    "ScenarioParameters",
    "ShortfallPolicy",
    "ShortfallResolution",
    "SlippageParameters",
    "UnderlyingDistance",
    "account_bankruptcy_prices",
    "account_risk",
    "account_risk_from_engine",
    "account_under_model",
    "adl_scores",
    "auction_price_factor",
    "auto_deleverage",
    "book_health",
    "buffer_margin_usd",
    "close_cost_usd",
    "distances_to_liquidation",
    "execution_cost_usd",
    "hedge_groups",
    "insolvent_payment_usd",
    "liquidate_book",
    "liquidation_queue",
    "load_liquidation_parameters",
    "max_bid_fraction",
    "parse_moves",
    "plan_close_everything",
    "plan_largest_first",
    "plan_partial_liquidation",
    "resolve_shortfall",
    "round_transfers",
    "rounded_close",
    "run_cex_liquidation",
    "run_dutch_auction",
    "simulate_liquidation",
    "slippage_fraction",
    "socialise_loss",
]
