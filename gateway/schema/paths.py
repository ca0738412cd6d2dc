"""Paths in the configuration: relative ones are relative to the configuration file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo


def _resolve(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    if not value.is_absolute() and base is not None:
        return (Path(base) / value).resolve()
    return value


#: A filesystem path; relative paths are taken from the configuration file's folder.
ConfigPath = Annotated[Path, AfterValidator(_resolve)]
