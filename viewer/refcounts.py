"""A guard against a reference-count bug of PySide6 6.12 on CPython 3.11.

Those bindings hand back None (from every void Qt call) and True/False (from signal emits)
without taking a reference: harmless on CPython 3.12+, where these objects are immortal, but on
3.11 each call drops one of their references, and after enough GUI activity (about a minute of
streaming) the interpreter frees True or None and aborts ("bool_dealloc: deallocating True or
False"). pin_singletons() gives them 2**40 extra references once at startup, as 3.12 does.
"""
from __future__ import annotations

import ctypes
import sys

EXTRA_REFS = 1 << 40


def pin_singletons() -> None:
    """Make None, True and False practically immortal (no-op where they already are)."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython" or hasattr(sys, "getobjects"):
        return  # immortal already, or a build whose object header does not start with the count
    for singleton in (None, True, False):
        count = ctypes.c_ssize_t.from_address(id(singleton))  # ob_refcnt, the header's first field
        if count.value < EXTRA_REFS:
            count.value += EXTRA_REFS
