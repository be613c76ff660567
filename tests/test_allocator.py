"""stn.allocator: glibc accepts the thresholds, and setting them twice is harmless."""

from __future__ import annotations

import platform

import pytest

from stn.allocator import keep_freed_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_takes_the_thresholds():
    assert keep_freed_memory() is True
    assert keep_freed_memory() is True  # cached: one call per process
