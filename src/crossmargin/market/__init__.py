"""crossmargin.market."""
