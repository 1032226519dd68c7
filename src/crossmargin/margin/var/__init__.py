"""VaR / expected shortfall by filtered historical simulation (model ``var``)."""

from crossmargin.margin.var.model import VarAnalysis, VarMargin, analyse_var
from crossmargin.margin.var.parameters import VarMeasure, VarParameters, load_var_parameters
from crossmargin.margin.var.tail import expected_shortfall, tail_measure, value_at_risk

__all__ = [
    "VarAnalysis",
    "VarMargin",
    "VarMeasure",
    "VarParameters",
    "analyse_var",
    "expected_shortfall",
    "load_var_parameters",
    "tail_measure",
    "value_at_risk",
]
