"""Docstring examples in the package run and stay true."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import aiops

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(aiops.__path__, prefix="aiops.")
    if not m.name.endswith("__main__") and not m.name.startswith("aiops.cli")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    """Every example in this module's docstrings produces the output it shows."""
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
