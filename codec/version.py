"""Strata's version, which `strata --version` and `strata-view --version` print.

pyproject.toml's [project] version is the same number (tests/test_version.py checks both).
"""
VERSION = "0.1.0"
