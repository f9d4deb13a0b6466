"""An on-disk cache of the loaded content, so a process starts without re-parsing and re-rendering every file.

The cache file is named by a key that changes whenever anything that shaped the loaded content changes: the
path, size and modification time of every file under the content folders, the source of the content loader
itself (trainer/content/**.py), the versions of the libraries that parse and render (Markdown, nh3, PyYAML)
and the Python version. A different key is a miss: the content is loaded from the files and the cache
rewritten. The folder is the instance folder (trusted, like the secret key kept there): entries are pickles.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

#: bump to invalidate every cache entry when the cache format itself changes
FORMAT = 1
PREFIX = "content-"
_CODE = Path(__file__).resolve().parent


def _code_fingerprint() -> bytes:
    digest = hashlib.sha256()
    for path in sorted(_CODE.rglob("*.py")):
        digest.update(str(path.relative_to(_CODE)).encode() + b"\0" + path.read_bytes() + b"\0")
    for package in ("markdown", "nh3", "pyyaml"):
        try:
            digest.update(f"{package}={metadata.version(package)};".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package}=none;".encode())
    digest.update(f"python={sys.version_info[:3]};format={FORMAT}".encode())
    return digest.digest()


def files_signature(*roots: Path) -> tuple:
    """(root, relative path, size, mtime in ns) of every file under ``roots``, sorted."""
    parts = []
    for root in roots:
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                stat = path.stat()
                if path.is_file():
                    parts.append((str(root), str(path.relative_to(root)), stat.st_size, stat.st_mtime_ns))
    return tuple(parts)


def cache_key(signature: tuple) -> str:
    """Hex key of a files signature together with the loader's code and library versions."""
    digest = hashlib.sha256(_code_fingerprint())
    digest.update(repr(signature).encode())
    return digest.hexdigest()[:32]


def read(folder: Path, key: str) -> Any | None:
    """The cached value for ``key``, or None when absent or unreadable (a broken entry is a miss, not an error)."""
    path = folder / f"{PREFIX}{key}.pickle"
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception:  # truncated, written by another version, ...: load from the files instead
        return None


def write(folder: Path, key: str, value: Any) -> None:
    """Store ``value`` under ``key`` atomically (several workers may start at once) and drop older entries."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-content-")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        target = folder / f"{PREFIX}{key}.pickle"
        os.replace(tmp, target)
        for old in folder.glob(f"{PREFIX}*.pickle"):
            if old != target:
                old.unlink(missing_ok=True)
    except OSError:  # a read-only instance folder only costs start-up time
        return
