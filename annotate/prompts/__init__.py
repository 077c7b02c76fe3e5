"""Versioned prompt files (see README.md beside this file); :mod:`annotate.prompt` reads them."""
