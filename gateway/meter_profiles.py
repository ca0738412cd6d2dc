"""Which meter profile ``profile = "..."`` names, found and loaded with every error located.

A device's ``profile`` (and ``modbus-read --profile``) is looked up in this order:

1. **a path** — the value contains ``/`` or ends in ``.toml`` (``"./my-meter.toml"``,
   ``"/etc/village-gateway/meters/abc.toml"``): that file; a relative path is taken from the
   configuration file's folder (``modbus-read``: from the current directory);
2. **the profiles folder** — a plain name ``X``: ``profiles/X.toml`` in the configuration
   file's folder (``/etc/village-gateway/profiles/`` beside ``/etc/village-gateway/gateway.toml``);
3. **the shipped profiles** — ``drivers/profiles/X.toml``.

Rules of this module:
- a profile of one's own is validated exactly like a shipped one (:func:`drivers.modbus_profile.parse_profile`,
  ``[bounds]`` required), and its ``name`` is its file name;
- a profile of one's own may not take a shipped profile's name (``profiles/sdm120.toml``, or any
  file saying ``name = "sdm120"``): refused, never a silent shadow — the same name would mean two
  register maps in two places (a configuration read elsewhere, a fixed shipped map hidden after an
  upgrade);
- every error is a :class:`~drivers.modbus_profile.ProfileError`: one inside a profile file has its
  ``file``, ``field`` and ``line`` (``FILE:LINE: field: reason``, like a configuration error); one
  about the reference itself (no such file, unknown name) has no ``file``: the caller locates it at
  the ``profile`` key that named it;
- a profile file is read like a configuration: a regular file of at most :data:`MAX_PROFILE_BYTES`,
  UTF-8, nested at most :data:`gateway.config_problems.MAX_DEPTH` deep.

Example::

    profile = load_meter_profile("my-meter", base_dir=Path("/etc/village-gateway"))
    # -> /etc/village-gateway/profiles/my-meter.toml, or the shipped one, or ProfileError
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from drivers.modbus_profile import (
    ProfileError,
    format_field,
    load_profile,
    parse_profile,
    profile_names,
    shipped_profile_text,
)
from gateway.config_problems import MAX_DEPTH, depth_problem, syntax_problem
from gateway.errors import ConfigProblem
from gateway.tomlpos import NotUtf8Error, decode_toml, locate, parse_path, quick_depth

if TYPE_CHECKING:
    from drivers.modbus_profile import Profile

#: The folder of one's own profiles, beside the configuration file.
PROFILES_DIR = "profiles"
#: A profile is a few kilobytes; anything much larger is not one (and is not read whole).
MAX_PROFILE_BYTES = 256_000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def is_path(ref: str) -> bool:
    """Whether ``profile = ref`` names a file rather than a profile."""
    return "/" in ref or ref.endswith(".toml")


def find_profile(ref: str, *, base_dir: Path | None) -> Path | None:
    """The file ``ref`` names, ``None`` for a shipped profile; :class:`ProfileError` if there is none.

    ``base_dir``: the configuration file's folder (relative paths and ``profiles/``); ``None``:
    relative paths from the current directory, and no profiles folder.
    """
    if is_path(ref):
        path = Path(ref)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        path = Path(os.path.normpath(path))
        if not path.exists():
            origin = "the configuration's folder" if base_dir is not None else "the current directory"
            raise ProfileError(f"no profile file {path} (a relative path is taken from {origin})")
        return path
    if not _NAME.fullmatch(ref):
        raise ProfileError(f"{ref!r} is neither a profile name (letters, digits, '.', '_', '-') nor a path")
    if base_dir is not None:
        local = base_dir / PROFILES_DIR / f"{ref}.toml"
        if local.exists():
            return local
    if ref in profile_names():
        return None
    raise ProfileError(f"unknown profile {ref!r}; known: {', '.join(known_profiles(base_dir))}")


def known_profiles(base_dir: Path | None) -> list[str]:
    """The shipped profiles and those of the profiles folder beside the configuration, sorted."""
    names = set(profile_names())
    if base_dir is not None:
        with contextlib.suppress(OSError):  # an unreadable folder: its names are just not listed
            names.update(p.stem for p in (base_dir / PROFILES_DIR).glob("*.toml"))
    return sorted(names)


def load_meter_profile(ref: str, *, base_dir: Path | None, draft: bool = False) -> Profile:
    """The profile ``ref`` names (lookup order in the module docstring); errors located.

    ``draft``: a file may leave ``[bounds]`` out (``modbus-read --draft`` only; never the daemon).
    """
    path = find_profile(ref, base_dir=base_dir)
    if path is None:
        try:
            return load_profile(ref)
        except ProfileError as exc:  # a broken shipped file: a bug of ours, located all the same
            raise _located(exc, shipped_profile_text(ref)) from exc
    return load_profile_file(path, draft=draft)


def load_profile_file(path: Path, *, draft: bool = False) -> Profile:
    """A profile of one's own from ``path``, validated like a shipped one."""
    where = str(path)
    text = _read(path)
    try:
        profile = parse_profile(text, where=where, draft=draft)
    except ProfileError as exc:
        raise _located(exc, text) from exc
    reason = None
    if profile.name in profile_names():
        reason = (
            f"{profile.name!r} is the name of a shipped profile: a profile of your own needs a name of its "
            f"own (rename the file and its name, e.g. '{profile.name}-local')"
        )
    elif profile.name != path.stem:
        reason = f"{profile.name!r} differs from the file name {path.name!r} (a profile's name is its file name)"
    if reason is not None:
        raise _located(ProfileError(reason, file=where, field=("name",)), text)
    return profile


def problem_of(exc: ProfileError) -> ConfigProblem | None:
    """An error inside a profile file as a configuration problem (``None``: the reference's own)."""
    if exc.file is None:
        return None

    return ConfigProblem(exc.file, format_field(exc.field), exc.reason, exc.line)


def _read(path: Path) -> str:
    """The file's text: a regular UTF-8 file of at most :data:`MAX_PROFILE_BYTES`, not nested too deep.

    A file that cannot be read at all is the reference's problem (located at the ``profile`` key
    that named it); text that is not UTF-8 is located at its line.
    """
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ProfileError(f"cannot read {path}: not a regular file")
        if info.st_size > MAX_PROFILE_BYTES:
            reason = f"{info.st_size} bytes, more than a profile ({MAX_PROFILE_BYTES} at most)"
            raise ProfileError(f"cannot read {path}: {reason}")
        with path.open("rb") as handle:
            data = handle.read(MAX_PROFILE_BYTES + 1)
    except OSError as exc:
        raise ProfileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        text = decode_toml(data)
    except NotUtf8Error as exc:
        raise ProfileError(exc.reason, file=str(path), field=exc.where, line=exc.line) from exc
    if quick_depth(text) > MAX_DEPTH:
        too_deep = depth_problem(str(path), locate(text))
        if too_deep is not None:
            raise _from_problem(too_deep)
    return text


def _located(exc: ProfileError, text: str) -> ProfileError:
    """``exc`` with the line of its field (or of the TOML syntax error) in ``text``."""
    cause = exc.__cause__
    if isinstance(cause, tomllib.TOMLDecodeError):
        return _from_problem(syntax_problem(exc.file or "<profile>", str(cause), text))
    return exc.at_line(locate(text).line_of(exc.field))


def _from_problem(problem: ConfigProblem) -> ProfileError:
    field = () if problem.path in ("", "(top level)") else parse_path(problem.path)
    return ProfileError(problem.reason, file=problem.file, field=field, line=problem.line)
