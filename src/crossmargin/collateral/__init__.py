"""Collateral: haircut schedules and the USD value of balances."""

from crossmargin.collateral.haircuts import HaircutSchedule, default_haircuts, load_haircuts
from crossmargin.collateral.valuation import CollateralLine, CollateralValuation, value_collateral

__all__ = [
    "CollateralLine",
    "CollateralValuation",
    "HaircutSchedule",
    "default_haircuts",
    "load_haircuts",
    "value_collateral",
]
