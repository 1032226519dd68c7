"""Column numbers of the packed per-instrument and per-underlying kernel tables.

The numba kernels take a few 2-d arrays instead of dozens of 1-d ones (each argument costs
dispatch time on every pre-trade check); these constants name their columns. They are compiled
into the kernels' cached machine code: after renumbering, touch the kernel modules so numba's
cache (which only watches the kernel's own file) is rebuilt.
"""

from __future__ import annotations

__all__ = [
    "CHECK_ACCOUNT",
    "CHECK_COMMIT",
    "CHECK_EPOCH",
    "CHECK_INSTRUMENT",
    "CHECK_OUTPUT_COLUMNS",
    "CHECK_REQUEST_COLUMNS",
    "CHECK_SLOT",
    "F_BUCKET_COIN",
    "F_COEF1",
    "F_COEF2",
    "F_DELTA",
    "F_NEGATIVE_COEF",
    "F_ROLL_RATE",
    "F_VALUE",
    "INSTRUMENT_FLOAT_COLUMNS",
    "INSTRUMENT_INT_COLUMNS",
    "I_BUCKET",
    "I_FACTOR1",
    "I_FACTOR2",
    "I_IS_BALANCE",
    "I_IS_CALL",
    "I_IS_OPTION",
    "I_MONTH",
    "I_UNDERLYING",
    "I_VECTOR",
    "MODEL_FLOAT_COLUMNS",
    "M_IM_TO_MM",
    "M_MM_FACTOR",
    "O_EQUITY",
    "O_INITIAL",
    "O_MAINTENANCE",
    "O_RATIO",
    "PACKED_VECTOR_FLOAT_COLUMNS",
    "P_BUCKET_COIN",
    "P_COEF",
    "P_DELTA",
    "P_NEGATIVE_COEF",
    "P_ROLL_RATE",
    "P_VALUE",
    "RECORD_FLOAT_COLUMNS",
    "RECORD_INT_COLUMNS",
    "R_BUCKET",
    "R_FACTOR",
    "R_HOLDS",
    "R_RUN",
    "R_VECTOR",
    "UNDERLYING_FLOAT_COLUMNS",
    "U_INCREMENT",
    "U_INDEX",
    "U_MAX_SHOCK",
    "U_SHORT_MINIMUM",
    "U_THRESHOLD",
    "VECTOR_FLOAT_COLUMNS",
    "VECTOR_INT_COLUMNS",
    "VF_CAP_COIN",
    "VF_INCREMENT",
    "VF_INDEX",
    "VF_MAX_SHOCK",
    "VF_MM_FACTOR",
    "VF_OFFSET",
    "VF_PRICE",
    "VF_THRESHOLD",
    "VI_COUNT",
    "VI_OFFSET",
    "VI_UNDERLYING",
    "VT_CONVERSION",
    "VT_DAMPENER",
    "VT_WEIGHT",
    "V_CAP_COIN",
    "V_OFFSET",
    "V_PRICE",
]

# instrument integer table (n_i, INSTRUMENT_INT_COLUMNS)
I_UNDERLYING = 0  # underlying id
I_FACTOR1 = 1  # linear factor of the position's price move, -1: add the whole scenario row
I_FACTOR2 = 2  # rate-shock factor of a future's expiry, -1: none
I_VECTOR = 3  # pm: risk vector (pair, currency); 0 for models without vectors
I_BUCKET = 4  # roll bucket (pm), -1: not a future or perpetual
I_IS_OPTION = 5
I_IS_CALL = 6
I_MONTH = 7  # SPAN contract month within the underlying (0 = spot and perpetuals)
I_IS_BALANCE = 8  # pm: 1 for a collateral balance column (coin of the underlying)
INSTRUMENT_INT_COLUMNS = 9

# instrument float table (n_i, INSTRUMENT_FLOAT_COLUMNS)
F_DELTA = 0  # delta of +1 native unit against the index, coin
F_VALUE = 1  # mark value of +1 native unit, USD
F_COEF1 = 2  # weight of factor 1 per native unit
F_COEF2 = 3  # weight of factor 2 per native unit
F_BUCKET_COIN = 4  # coin of underlying per native unit (roll bucket netting)
F_ROLL_RATE = 5  # pm: roll shock per coin of the bucket's net, max(a·T, min)
F_NEGATIVE_COEF = 6  # pm: factor weight of a negative balance per coin (S·(1 + haircut))
INSTRUMENT_FLOAT_COLUMNS = 7

# underlying float table (n_u, UNDERLYING_FLOAT_COLUMNS)
U_INDEX = 0  # index price, USD
U_THRESHOLD = 1  # pm: delta shock threshold, USD
U_MAX_SHOCK = 2  # pm: largest extra move of the delta shock
U_INCREMENT = 3  # pm: extra move per coin beyond the threshold
U_SHORT_MINIMUM = 4  # span: short option minimum per coin of short options, USD
UNDERLYING_FLOAT_COLUMNS = 5

# vector float table (n_v, VECTOR_FLOAT_COLUMNS), pm
V_PRICE = 0  # current USD price of the vector's currency
V_OFFSET = 1  # pnl_offset of the currency
V_CAP_COIN = 2  # max_offsetable_pnl in the currency's units
VECTOR_FLOAT_COLUMNS = 3

# model scalars (MODEL_FLOAT_COLUMNS,)
M_MM_FACTOR = 0  # pm: MM = factor × IM
M_IM_TO_MM = 1  # span: MM = IM / ratio
MODEL_FLOAT_COLUMNS = 2

# a pre-trade check's request (int64, 5) and float output (2, 4) (crossmargin.engine.model_spec)
CHECK_ACCOUNT = 0
CHECK_INSTRUMENT = 1  # engine order, -1: no trade
CHECK_SLOT = 2  # slot of the account's stored state in the pool
CHECK_EPOCH = 3  # the engine's market epoch (the stored state is rebuilt when it differs)
CHECK_COMMIT = 4  # 1: move the stored state by the trade (apply_trade)
CHECK_REQUEST_COLUMNS = 5
O_INITIAL = 0  # IM, USD; row 0 before, row 1 after the trade
O_MAINTENANCE = 1  # MM, USD
O_EQUITY = 2  # equity, USD (before the trade: a trade at the mark leaves it)
O_RATIO = 3  # MM / equity
CHECK_OUTPUT_COLUMNS = 4

# packed per-instrument records of the pm kernels (crossmargin.engine.packed)
R_VECTOR = 0  # risk vector
R_FACTOR = 1  # linear factor, -1: add the whole row (with its lanes)
R_BUCKET = 2  # roll bucket, -1: none
R_HOLDS = 3  # 1 when a position makes its vector held (0: a balance that moves in no scenario)
R_RUN = 4  # risk vector of a plain row (whole row, holds 1, no roll bucket; run together), else -1
RECORD_INT_COLUMNS = 8  # padded to one cache line
P_COEF = 0  # factor weight per native unit of a long (or any non-balance) position
P_NEGATIVE_COEF = 1  # factor weight per native unit of a negative size (balances: S·(1 + h))
P_DELTA = 2  # delta of +1 native unit, coin
P_VALUE = 3  # mark value of +1 native unit, USD
P_BUCKET_COIN = 4  # coin of underlying per native unit (roll bucket netting)
P_ROLL_RATE = 5  # roll shock per coin of the bucket's net
RECORD_FLOAT_COLUMNS = 8  # padded to one cache line

# per risk vector (crossmargin.engine.packed)
VI_UNDERLYING = 0
VI_COUNT = 1  # scenarios of the vector's underlying
VI_OFFSET = 2  # first scenario of the underlying on the global axis
VECTOR_INT_COLUMNS = 3
VT_WEIGHT = 0  # (n_v, 3, width): the underlying's scenario weights,
VT_DAMPENER = 1  # the vector's USD dampeners,
VT_CONVERSION = 2  # 1 / the currency's USD price in each scenario
VF_PRICE = 0
VF_OFFSET = 1
VF_CAP_COIN = 2
VF_INDEX = 3  # index of the vector's pair, USD
VF_THRESHOLD = 4
VF_MAX_SHOCK = 5
VF_INCREMENT = 6
VF_MM_FACTOR = 7
PACKED_VECTOR_FLOAT_COLUMNS = 8
