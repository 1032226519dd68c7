"""crossmargin.pricing."""
