"""Data files shipped with rx: the formulary and the label catalog."""
