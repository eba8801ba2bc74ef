"""The scrape engine holds the garbage collector only while it scores."""

from __future__ import annotations

import gc

import pytest

from aiops.engines.collector import collector_held


def test_collector_is_off_inside_and_restored_after() -> None:
    """On before: off inside the block, on again after it."""
    was = gc.isenabled()
    try:
        gc.enable()
        with collector_held():
            assert not gc.isenabled()
        assert gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()


def test_a_collector_that_was_off_stays_off() -> None:
    """Someone else's choice to turn the collector off is kept."""
    was = gc.isenabled()
    try:
        gc.disable()
        with collector_held():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()


def test_an_error_inside_still_restores_the_collector() -> None:
    """An exception while scoring does not leave the collector off."""
    was = gc.isenabled()
    try:
        gc.enable()
        with pytest.raises(RuntimeError), collector_held():
            raise RuntimeError("boom")
        assert gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()
