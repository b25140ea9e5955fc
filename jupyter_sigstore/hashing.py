"""Streaming SHA-256 digests of data-output files (bounded memory)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .errors import OutputError

_CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Return the hex SHA-256 of a file's bytes, read in chunks."""
    try:
        with open(path, "rb", buffering=0) as fh:
            h = hashlib.sha256()
            buf = bytearray(_CHUNK)
            view = memoryview(buf)
            while n := fh.readinto(buf):
                h.update(view[:n])
            return h.hexdigest()
    except FileNotFoundError as exc:
        raise OutputError(f"output {Path(path)} does not exist") from exc
    except IsADirectoryError as exc:
        raise OutputError(f"output {Path(path)} is a directory, not a file") from exc
    except PermissionError as exc:
        raise OutputError(f"output {Path(path)} is not readable (permission denied)") from exc
    except OSError as exc:
        raise OutputError(f"output {Path(path)} could not be read: {exc.strerror}") from exc
