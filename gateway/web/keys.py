"""The session signing key: a random secret in a 0600 file, created on first start.

Rules: the key never appears in the configuration file, logs or pages; an unreadable or
too-short key file is an error (we never silently fall back to a weaker key).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from gateway.errors import StorageError

KEY_BYTES = 32


def load_or_create_secret(path: Path) -> bytes:
    """The key stored at ``path``; a new random one written there (mode 0600) if the file is absent."""
    path = Path(path)
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(KEY_BYTES).encode("ascii")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it meanwhile: use theirs
            return load_or_create_secret(path)
        except OSError as exc:
            raise StorageError(f"cannot create the web secret key file {path}: {exc}") from exc
        with os.fdopen(fd, "wb") as out:
            out.write(key + b"\n")
            out.flush()
            os.fsync(out.fileno())
        return key
    except OSError as exc:
        raise StorageError(f"cannot read the web secret key file {path}: {exc}") from exc
    if len(key) < KEY_BYTES:
        raise StorageError(f"{path}: the web secret key is shorter than {KEY_BYTES} bytes; delete it to regenerate")
    return key
