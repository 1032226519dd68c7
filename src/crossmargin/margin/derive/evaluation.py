"""Evaluate a :class:`DeriveBook`: scenario losses, contingencies, and the IM and MM balances.

The method (Derive PMRM version 2; facts from derivexyz/v2-core ``PMRMLib_2`` and its portfolio
cases), in the quote currency:

* **Scenario P&L.** Every instrument is revalued under every scenario by
  :func:`~crossmargin.scenarios.scenario_pnl_matrix`. Per expiry, the shocked value
  V = MtM + Σ P&L is discounted statically (V·pos if V ≥ 0, else V·neg; see
  :class:`~crossmargin.margin.derive.parameters.MarginParameters`) and its P&L is
  V_discounted − MtM. In a skew scenario each expiry counts −|P&L| (the worse of rotating the
  skew either way). Delta-one contracts and risk-cancelling collateral add their P&L; the
  scenario's total is multiplied by its dampening factor.
* **Forward contingency.** Per expiry, min(P&L at spot × up, P&L at spot × down, 0) (vols
  unchanged, no static discount) × (add + mult·τ), summed over expiries.
* **Max loss** = min(forward contingency, every scenario's P&L) (≤ 0; ties go to the forward
  contingency, then to the earlier scenario).
* **Contingencies** (positive amounts taken off the balance): perpetual |coin|·spot × MM %/IM %;
  naked short options per expiry and strike (max(−Σ sizes, 0)) × spot × MM %/IM %; each
  collateral's value × its MM/IM haircut; oracle confidence (IM only): a notional whose confidence
  c is below the threshold costs (1 − c)·conf_margin of it — the perpetual's at the account's
  confidence, each expiry's Σ|sizes|·spot at the lower of its own and the account's, each
  collateral's value at the lower of its own and the spot's.
* **Balances.** MtM = cash + options + delta-one + collateral. MM = MtM + mm_factor·maxLoss −
  MM contingencies; IM = MtM + im_factor·maxLoss − MM and IM contingencies − oracle, where
  im_factor grows by (threshold − stable price)·peg_loss_factor while the stablecoin is below its
  peg threshold. Negative balances mean margin is short by that much.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from crossmargin.margin.derive.book import DeriveBook
from crossmargin.margin.derive.parameters import DerivePmrmParameters, ScenarioClass
from crossmargin.margin.derive.shocks import ProfileScenarios, profile_scenarios
from crossmargin.scenarios import base_unit_values, counted_pnl, scenario_pnl_matrix

__all__ = ["Contingencies", "DeriveEvaluation", "evaluate_book"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Contingencies:
    """Contingency amounts of a book (quote currency, ≥ 0; each is taken off a balance).

    ``mm_*`` reduce both balances, ``im_*`` and ``oracle`` only the initial one. ``oracle_*``
    split ``oracle`` by what carried the low confidence."""

    mm_perp: float
    im_perp: float
    mm_option: float
    im_option: float
    mm_base: float
    im_base: float
    oracle_perp: float
    oracle_option: float
    oracle_collateral: float

    @property
    def oracle(self) -> float:
        """Oracle confidence contingency in total."""
        return self.oracle_perp + self.oracle_option + self.oracle_collateral

    @property
    def maintenance(self) -> float:
        """Everything taken off the maintenance balance."""
        return self.mm_perp + self.mm_option + self.mm_base

    @property
    def initial(self) -> float:
        """Everything taken off the initial balance (maintenance ones included)."""
        return self.maintenance + self.im_perp + self.im_option + self.im_base + self.oracle


@dataclass(frozen=True, eq=False)
class DeriveEvaluation:
    """Everything the profile computed for one book (quote currency; losses are negative).

    Attributes
    ----------
    book, parameters, scenarios:
        The inputs and the scenario sets built from them.
    pnl_matrix, basis_matrix:
        (n_s, n_i) P&L of +1 unit of each instrument per margin scenario; (2, n_i) per
        forward-contingency scenario (spot up, spot down).
    expiry_pnl:
        (n_s, n_e) P&L of each expiry per scenario as counted (static discount, skew −|·|,
        dampening).
    scenario_pnl:
        (n_s,) P&L of the book per scenario as counted: Derive's reg/tail/skew losses.
    expiry_mtm, expiry_basis:
        (n_e,) mark value of each expiry's options; each expiry's forward contingency (≤ 0).
    forward_contingency:
        Σ ``expiry_basis`` (≤ 0).
    max_loss, worst_index:
        min(forward contingency, ``scenario_pnl``) (≤ 0) and the scenario it came from
        (``n_s`` = the forward contingency).
    option_mtm, delta_one_mtm, collateral_mtm:
        Mark values (collateral at amount × price / stablecoin price).
    contingencies:
        :class:`Contingencies`.
    im_factor, mm_factor:
        Loss factors applied (``im_factor`` includes the de-peg uplift).
    """

    book: DeriveBook
    parameters: DerivePmrmParameters
    scenarios: ProfileScenarios
    pnl_matrix: FloatArray
    basis_matrix: FloatArray
    expiry_pnl: FloatArray
    scenario_pnl: FloatArray
    expiry_mtm: FloatArray
    expiry_basis: FloatArray
    forward_contingency: float
    max_loss: float
    worst_index: int
    option_mtm: float
    delta_one_mtm: float
    collateral_mtm: float
    contingencies: Contingencies
    im_factor: float
    mm_factor: float

    @property
    def mtm(self) -> float:
        """Mark-to-market of the account: cash + options + delta-one + collateral."""
        return self.book.cash + self.option_mtm + self.delta_one_mtm + self.collateral_mtm

    @property
    def initial_requirement(self) -> float:
        """What IM takes off the mark-to-market (≥ 0): −im_factor·maxLoss + IM contingencies."""
        return -self.im_factor * self.max_loss + self.contingencies.initial

    @property
    def maintenance_requirement(self) -> float:
        """What MM takes off the mark-to-market (≥ 0): −mm_factor·maxLoss + MM contingencies."""
        return -self.mm_factor * self.max_loss + self.contingencies.maintenance

    @property
    def im(self) -> float:
        """Initial margin balance (negative: short of initial margin by that much)."""
        return self.mtm - self.initial_requirement

    @property
    def mm(self) -> float:
        """Maintenance margin balance (negative: below maintenance margin by that much)."""
        return self.mtm - self.maintenance_requirement

    @property
    def worst_is_forward_contingency(self) -> bool:
        """Whether the forward contingency, not a scenario, set the max loss."""
        return self.worst_index == self.scenarios.margin_set.count


def _expiry_sums(book: DeriveBook, per_position: FloatArray) -> FloatArray:
    """Sum the option columns of ``per_position`` (…, n_i) per expiry: (…, n_e)."""
    options = book.option_columns
    membership = np.zeros((book.sizes.shape[0], len(book.expiries)))
    membership[options, book.expiry_of[options]] = 1.0
    return np.asarray(per_position @ membership, dtype=np.float64)


def _confidence_charge(confidence: float, notional: float, p: DerivePmrmParameters) -> float:
    other = p.other_contingency
    if confidence < other.conf_threshold:
        return (1.0 - confidence) * other.conf_margin * notional
    return 0.0


def _naked_shorts(book: DeriveBook, expiry: int) -> float:
    """Naked short options of one expiry: Σ over strikes of max(−Σ sizes at the strike, 0)."""
    columns = np.flatnonzero(book.expiry_of == expiry)
    strikes = book.arrays.strike_usd[columns]
    net = {float(k): 0.0 for k in strikes}
    for strike, size in zip(strikes, book.sizes[columns], strict=True):
        net[float(strike)] += float(size)
    return sum(max(-amount, 0.0) for amount in net.values())


def _contingencies(book: DeriveBook, p: DerivePmrmParameters) -> Contingencies:
    other = p.other_contingency
    account_confidence = book.min_confidence
    perp_notional = float(np.abs(book.delta_one_coin * book.sizes).sum()) * book.spot_price
    naked = sum(_naked_shorts(book, e) for e in range(len(book.expiries)))
    option_oracle = 0.0
    for e, feed in enumerate(book.expiries):
        held = float(np.abs(book.sizes[book.expiry_of == e]).sum())
        confidence = min(account_confidence, feed.confidence)
        option_oracle += _confidence_charge(confidence, held * book.spot_price, p)
    collateral_oracle = sum(
        _confidence_charge(min(c.confidence, book.spot_confidence), c.value, p)
        for c in book.collaterals
    )
    return Contingencies(
        mm_perp=perp_notional * other.mm_perp_percent,
        im_perp=perp_notional * other.im_perp_percent,
        mm_option=naked * book.spot_price * other.mm_option_percent,
        im_option=naked * book.spot_price * other.im_option_percent,
        mm_base=sum(c.value * c.mm_haircut for c in book.collaterals),
        im_base=sum(c.value * c.im_haircut for c in book.collaterals),
        oracle_perp=_confidence_charge(account_confidence, perp_notional, p),
        oracle_option=option_oracle,
        oracle_collateral=collateral_oracle,
    )


def _forward_contingency(
    book: DeriveBook, basis_matrix: FloatArray, p: DerivePmrmParameters
) -> FloatArray:
    per_expiry = _expiry_sums(book, basis_matrix * book.sizes)
    worst = np.minimum(np.minimum(per_expiry[0], per_expiry[1]), 0.0)
    tau = np.array([feed.tau for feed in book.expiries], dtype=np.float64)
    factor = p.basis_contingency.add_factor + p.basis_contingency.mult_factor * tau
    return np.asarray(worst * factor, dtype=np.float64)


def evaluate_book(book: DeriveBook, parameters: DerivePmrmParameters) -> DeriveEvaluation:
    """Run the profile on ``book`` (see the module docstring for the method)."""
    scenarios = profile_scenarios(book, parameters)
    margin_set = scenarios.margin_set
    matrix = scenario_pnl_matrix(book.arrays, margin_set)
    per_position = matrix * book.sizes
    values = base_unit_values(book.arrays, margin_set) * book.sizes
    expiry_mtm = _expiry_sums(book, values)
    shocked = expiry_mtm + _expiry_sums(book, per_position)
    shock = scenarios.expiry
    discounted = np.where(
        shocked >= 0.0, shocked * shock.static_discount_pos, shocked * shock.static_discount_neg
    )
    expiry_raw = discounted - expiry_mtm
    skew = np.array([c is ScenarioClass.SKEW for c in parameters.scenario_classes], dtype=np.bool_)
    expiry_raw = np.where(skew[:, None], -np.abs(expiry_raw), expiry_raw)
    others = book.expiry_of < 0
    raw = expiry_raw.sum(axis=1) + per_position[:, others].sum(axis=1)
    scenario_pnl = counted_pnl(raw, margin_set)
    basis_matrix = scenario_pnl_matrix(book.arrays, scenarios.basis_set)
    expiry_basis = _forward_contingency(book, basis_matrix, parameters)
    forward = float(expiry_basis.sum())
    worst_index, max_loss = margin_set.count, forward
    if scenario_pnl.size and float(scenario_pnl.min()) < forward:
        worst_index = int(np.argmin(scenario_pnl))
        max_loss = float(scenario_pnl[worst_index])
    other = parameters.other_contingency
    im_factor = parameters.margin.im_loss_factor
    if book.stable_price < other.peg_loss_threshold:
        im_factor += (other.peg_loss_threshold - book.stable_price) * other.peg_loss_factor
    delta_one = (book.delta_one_coin != 0.0) & others
    return DeriveEvaluation(
        book=book,
        parameters=parameters,
        scenarios=scenarios,
        pnl_matrix=matrix,
        basis_matrix=basis_matrix,
        expiry_pnl=expiry_raw * margin_set.weights[:, None],
        scenario_pnl=scenario_pnl,
        expiry_mtm=expiry_mtm,
        expiry_basis=expiry_basis,
        forward_contingency=forward,
        max_loss=max_loss,
        worst_index=worst_index,
        option_mtm=float(expiry_mtm.sum()),
        delta_one_mtm=float(values[delta_one].sum()) + book.delta_one_extra_value,
        collateral_mtm=float(sum(c.value for c in book.collaterals)),
        contingencies=_contingencies(book, parameters),
        im_factor=im_factor,
        mm_factor=parameters.margin.mm_loss_factor,
    )
