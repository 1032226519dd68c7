"""Collateral: haircut schedules (static and dynamic), de-peg charges, transfer routes, and the
USD value of balances."""

from crossmargin.collateral.depeg import DepegParams, depeg_charge_path
from crossmargin.collateral.dynamic import DynamicHaircutParams, HaircutBreakdown, dynamic_haircut
from crossmargin.collateral.dynamic_schedule import (
    DynamicCollateralSchedule,
    haircuts_at,
    load_dynamic_collateral,
)
from crossmargin.collateral.haircuts import HaircutSchedule, default_haircuts, load_haircuts
from crossmargin.collateral.transfer import TransferRoute
from crossmargin.collateral.valuation import CollateralLine, CollateralValuation, value_collateral

__all__ = [
    "CollateralLine",
    "CollateralValuation",
    "DepegParams",
    "DynamicCollateralSchedule",
    "DynamicHaircutParams",
    "HaircutBreakdown",
    "HaircutSchedule",
    "TransferRoute",
    "default_haircuts",
    "depeg_charge_path",
    "dynamic_haircut",
    "haircuts_at",
    "load_dynamic_collateral",
    "load_haircuts",
    "value_collateral",
]
