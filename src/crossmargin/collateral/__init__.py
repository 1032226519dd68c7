"""crossmargin.collateral."""
