"""The package list, beside pyproject.toml: the top-level resources/ folder ships as codec/_resources.

pyproject.toml's [tool.setuptools] cannot combine found packages with a folder mapped under a
different name, so both are listed here; codec/resources.py finds the files in either place.
"""
from setuptools import find_namespace_packages, setup

SHIPPED = ["*.pt", "sample.png", "strata.png", "strata.svg"]  # weights, sample picture, icon

setup(
    packages=find_namespace_packages(include=["codec*", "viewer*"], exclude=["*.__pycache__"]) + ["codec._resources"],
    package_dir={"codec._resources": "resources"},
    package_data={"codec._resources": SHIPPED},
)
