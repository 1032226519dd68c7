"""crossmargin.cli."""
