"""MNIST acquisition: a verified local copy (MNIST_DIR) or a torchvision download.

A local folder is checked file by file against the SHA-256 of the published
files' decompressed content, so a truncated or edited copy fails here with a
one-line :class:`~stn.errors.DataError` instead of silently training on it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import uuid
import zlib
from functools import lru_cache
from pathlib import Path

import torch

from stn.errors import DataError

SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60_000),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10_000),
}

# SHA-256 of the decompressed content of the standard files (the same bytes
# whether the local copy is gzip-compressed or raw).
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

_IDX_UBYTE = 0x08  # IDX type code of unsigned bytes, the only type MNIST uses
# Where torchvision downloads MNIST when no local folder is given (relative: the repo root).
DOWNLOAD_ROOT = "data/mnist"


def load_mnist(
    split: str, mnist_dir: str | Path | None = None, download_root: str | Path = DOWNLOAD_ROOT
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images uint8 (N, 28, 28) and labels int64 (N,) of one split, in MNIST order.

    With ``mnist_dir`` (paths.mnist_dir, default $MNIST_DIR) the four IDX files
    are read from that folder, each gzip-compressed (``*.gz``) or raw; without
    it torchvision downloads them into ``download_root``.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)}, not {split!r}")
    if mnist_dir is None:
        return _download(split, Path(download_root))
    image_stem, label_stem, n = SPLITS[split]
    folder = Path(mnist_dir)
    images = _read_idx(folder, image_stem, (n, 28, 28))
    labels = _read_idx(folder, label_stem, (n,))
    return images, labels.long()


def _read_idx(folder: Path, stem: str, shape: tuple[int, ...]) -> torch.Tensor:
    path = _locate(folder, stem)
    stat = path.stat()
    content = _verified_content(path, stem, stat.st_size, stat.st_mtime_ns)
    # The checksum already pins the bytes; the header check guards the constants above.
    ndim = content[3]
    dims = tuple(int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if content[2] != _IDX_UBYTE or dims != shape:
        raise DataError(f"MNIST file {path} has IDX header {dims}, expected shape {shape}")
    data = torch.frombuffer(bytearray(content), dtype=torch.uint8, offset=4 + 4 * ndim)
    return data.view(shape)


@lru_cache(maxsize=4)
def _verified_content(path: Path, stem: str, size: int, mtime_ns: int) -> bytes:
    """Decompressed, checksum-verified content. Cached (immutable bytes) per file version:
    `make data` and the tests read the same split for several datasets."""
    try:
        raw = path.read_bytes()
        content = gzip.decompress(raw) if path.suffix == ".gz" else raw
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise DataError(
            f"MNIST file {path} cannot be read ({error}): replace it with a fresh copy"
        ) from None
    if hashlib.sha256(content).hexdigest() != SHA256[stem]:
        raise DataError(
            f"MNIST file {path} is corrupt (SHA-256 of its content differs from the "
            "published file): replace it with a fresh copy, or unset MNIST_DIR to download"
        )
    return content


def _locate(folder: Path, stem: str) -> Path:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    raise DataError(
        f"MNIST file {folder / stem}.gz is missing: put the four MNIST IDX files (gzip or raw) "
        f"in MNIST_DIR ({folder}) or unset MNIST_DIR to download them with torchvision"
    )


def _download(split: str, root: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """torchvision downloads the four files into a staging folder beside ``root`` and each
    is renamed into ``root/MNIST/raw`` (atomic within one file system): many jobs starting
    at once on shared storage never read a half-written file. They are then read and
    SHA-checked like a local copy."""
    from torchvision.datasets import MNIST  # imported here: only the download path needs it

    raw = root / "MNIST" / "raw"
    if not all((raw / stem).is_file() for stem in SHA256):  # the four published files
        staging = root.with_name(f".{root.name}.download-{uuid.uuid4().hex[:8]}")
        try:
            MNIST(str(staging), train=True, download=True)  # fetches both splits' files
            raw.mkdir(parents=True, exist_ok=True)
            for stem in SHA256:
                os.replace(staging / "MNIST" / "raw" / stem, raw / stem)
        except Exception as error:  # any network/disk failure reaches the user as one line
            text = str(error).strip()
            reason = text.splitlines()[0] if text else type(error).__name__
            raise DataError(
                f"could not download MNIST into {root} ({reason}); without internet, set "
                "MNIST_DIR to a folder holding the four MNIST IDX files"
            ) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return load_mnist(split, raw)


