"""Foreign file formats only: Derive's PMRM case files (:mod:`crossmargin.compat.derive_pmrm`) and
CME-style SPAN risk-array files (:mod:`crossmargin.compat.cme_risk_arrays`). Each is parsed into
the library's own inputs and evaluated by the models in :mod:`crossmargin.margin`."""

__all__: list[str] = []
