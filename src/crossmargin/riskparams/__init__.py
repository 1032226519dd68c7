"""Dynamic risk parameters: scenario ranges, vol shocks and haircuts that follow volatility, with
the anti-procyclicality tools of EMIR RTS 153/2013 Art. 28.

* :func:`parameters_from_vol`, :class:`RiskParameterSet` — a parameter set valid at a time;
* :func:`apply_apc`, :class:`APCParams`, :class:`APCTool` — buffer, stressed weight, ten-year floor
  and a daily cap, each selectable;
* :func:`parameter_path`, :func:`procyclicality_table` — the path over real history and how
  procyclical it is per tool;
* :func:`ewma_vol_annual`, :func:`lookback_vol_annual`, :func:`dvol_to_vol_annual` — the drivers.
"""

from crossmargin.riskparams.history import (
    DEFAULT_NOTIONAL_USD,
    ParameterPath,
    ProcyclicalityRow,
    comparison_tools,
    parameter_path,
    procyclicality_table,
)
from crossmargin.riskparams.parameters import (
    DriverParams,
    DynamicParameterConfig,
    DynamicRangeParams,
    ParameterArrays,
    RiskParameterSet,
    VolSource,
    load_dynamic_parameters,
    parameters_from_vol,
)
from crossmargin.riskparams.procyclicality import (
    APCParams,
    APCTool,
    ProcyclicalityMeasures,
    apply_apc,
    measure_procyclicality,
)
from crossmargin.riskparams.volatility import (
    daily_log_returns,
    dvol_to_vol_annual,
    ewma_vol_annual,
    lookback_vol_annual,
)

__all__ = [
    "DEFAULT_NOTIONAL_USD",
    "APCParams",
    "APCTool",
    "DriverParams",
    "DynamicParameterConfig",
    "DynamicRangeParams",
    "ParameterArrays",
    "ParameterPath",
    "ProcyclicalityMeasures",
    "ProcyclicalityRow",
    "RiskParameterSet",
    "VolSource",
    "apply_apc",
    "comparison_tools",
    "daily_log_returns",
    "dvol_to_vol_annual",
    "ewma_vol_annual",
    "load_dynamic_parameters",
    "lookback_vol_annual",
    "measure_procyclicality",
    "parameter_path",
    "parameters_from_vol",
    "procyclicality_table",
]
