"""stn.allocator: with the thresholds set, glibc serves a large block from the heap and
keeps it there after free (so the next step reuses its pages); without, it maps the
block and hands it back. Each case runs in a fresh process: the thresholds are
process-wide, and glibc's dynamic threshold remembers earlier frees."""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import platform
import subprocess
import sys

import pytest

from stn.allocator import keep_freed_memory

BLOCK_MB = 24  # above glibc's default mmap threshold, below the 32 MB ceiling we set

PROBE = f"""
import ctypes, ctypes.util, json, sys
class Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks",
                "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = Mallinfo2
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
if sys.argv[1] == "keep":
    from stn.allocator import keep_freed_memory
    assert keep_freed_memory()
before = libc.mallinfo2()
block = libc.malloc({BLOCK_MB} << 20)
during = libc.mallinfo2()
libc.free(block)
after = libc.mallinfo2()
print(json.dumps({{"mapped": during.hblkhd - before.hblkhd,
                   "heap_kept": after.arena - before.arena}}))
"""


def _probe(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


glibc = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc"
    or not hasattr(ctypes.CDLL(ctypes.util.find_library("c")), "mallinfo2"),
    reason="mallopt and mallinfo2 are glibc's (>= 2.33)",
)


@glibc
def test_with_the_thresholds_a_large_freed_block_stays_on_the_heap():
    block = BLOCK_MB << 20
    default, kept = _probe("default"), _probe("keep")
    assert default["mapped"] >= block and default["heap_kept"] < block  # mapped, unmapped
    assert kept["mapped"] == 0 and kept["heap_kept"] >= block  # heap, kept after free


@glibc
def test_setting_the_thresholds_twice_is_harmless():
    assert keep_freed_memory() is True
    assert keep_freed_memory() is True  # cached: one call per process
