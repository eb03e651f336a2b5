"""Static files for the /rx pages (a package so installs ship them)."""
