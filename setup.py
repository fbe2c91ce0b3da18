"""The package list, beside pyproject.toml: the top-level resources/ folder ships as codec/_resources.

pyproject.toml's [tool.setuptools] cannot combine found packages with a folder mapped under another
name, so both are listed here. Every file of resources/ ships (the weights, the sample picture and
the icon); codec/resources.py finds them in the checkout, the PyInstaller bundle and the wheel.
"""
from setuptools import find_namespace_packages, setup

setup(
    packages=find_namespace_packages(include=["codec*", "viewer*"], exclude=["*.__pycache__"]) + ["codec._resources"],
    package_dir={"codec._resources": "resources"},
    package_data={"codec._resources": ["*"]},
)
