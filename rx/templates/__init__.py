"""Jinja2 templates for the /rx pages (a package so installs ship them)."""
