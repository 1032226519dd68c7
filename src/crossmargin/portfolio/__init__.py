"""crossmargin.portfolio."""
