"""The manifest written next to every dump: what it holds and how to check it is intact."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ops.backups import BackupError
from ops.durable import fsync_path

MANIFEST_SUFFIX = ".manifest.json"
FORMAT_VERSION = 1


@dataclass
class Manifest:
    created_at: str
    engine: str
    database: str
    dump_file: str
    size: int
    sha256: str
    app_version: str
    migrations: list[list[str]]
    row_counts: dict[str, int]
    tool: str = ""
    duration_seconds: float = 0.0
    format: int = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def manifest_path_for(dump_path: Path) -> Path:
    return dump_path.with_name(dump_path.name + MANIFEST_SUFFIX)


def sha256_of(path: Path, chunk_size: int = 1024 * 1024) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def write_durably(path: Path, text: str) -> None:
    """Write aside, fsync, rename: a reader sees the old file or the whole new one."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    fsync_directory(path.parent)


def fsync_directory(directory: Path) -> None:
    fsync_path(directory)


def locate(path: Path) -> tuple[Path, Path]:
    """(dump, manifest) from either of the two paths an operator might type."""
    path = path.expanduser().resolve()
    if path.name.endswith(MANIFEST_SUFFIX):
        manifest_path = path
        dump_path = path.with_name(path.name[: -len(MANIFEST_SUFFIX)])
    else:
        dump_path = path
        manifest_path = manifest_path_for(path)
    if not dump_path.is_file():
        raise BackupError(f"No backup file at {dump_path}.")
    if not manifest_path.is_file():
        raise BackupError(f"The backup {dump_path.name} has no manifest ({manifest_path.name}); "
                          "it cannot be verified, so it is not restored.")
    return dump_path, manifest_path


def read_manifest(manifest_path: Path) -> Manifest:
    try:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
        return Manifest(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise BackupError(f"The manifest {manifest_path} cannot be read: {exc}") from exc


def verify(path: Path) -> tuple[Path, Manifest]:
    """The dump and its manifest, after checking size and SHA-256; refuses anything altered."""
    dump_path, manifest_path = locate(path)
    manifest = read_manifest(manifest_path)
    if manifest.format != FORMAT_VERSION:
        raise BackupError(f"The manifest {manifest_path.name} has format {manifest.format}; "
                          f"this version reads format {FORMAT_VERSION}.")
    size = dump_path.stat().st_size
    if size != manifest.size:
        raise BackupError(f"The backup {dump_path.name} is {size} bytes but its manifest says "
                          f"{manifest.size}: it is truncated or altered, so it is not used.")
    actual = sha256_of(dump_path)
    if actual != manifest.sha256:
        raise BackupError(f"Checksum mismatch for {dump_path.name}: the manifest says {manifest.sha256}, "
                          f"the file is {actual}. The backup was altered, so it is not used.")
    return dump_path, manifest
