"""Where footage bytes live, behind a small interface keyed by a relative key ("site/cam/file.mp4").

The local folder is the embedded default; an S3-compatible object store (with Object Lock in
compliance mode as a second line of defence) can implement the same six methods later. Only the
retention sweep calls `delete`: every other path to deletion is refused before it reaches a store.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    mtime: float


class InvalidKey(ValueError):
    """A key that is absolute or climbs out of the store."""


class FootageStore(Protocol):
    def put(self, key: str, source: Path) -> StoredObject: ...
    def open(self, key: str) -> BinaryIO: ...
    def stat(self, key: str) -> StoredObject | None: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> bool: ...
    def delete_many(self, keys: list[str]) -> list[bool | OSError]: ...
    def iter(self, prefix: str = "") -> Iterator[StoredObject]: ...
    def local_path(self, key: str) -> Path | None: ...
    def free_bytes(self) -> int | None: ...


def normalize_key(key: str) -> str:
    """Keys are POSIX-style relative paths without '..' so one cannot name a file outside the store."""
    key = key.replace("\\", "/").strip("/")
    parts = PurePosixPath(key).parts
    if not key or any(p in ("..", "") for p in parts) or PurePosixPath(key).is_absolute():
        raise InvalidKey(f"invalid footage key {key!r}")
    return str(PurePosixPath(*parts))


class LocalFolderStore:
    """Footage in a folder tree. Files may be placed there by the recorder itself (then `scan`
    registers them in place) or copied in with `put`."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / normalize_key(key)

    def key_for(self, path: Path) -> str | None:
        """The key of a file inside the root, or None if the file is outside it."""
        try:
            return normalize_key(path.resolve().relative_to(self.root).as_posix())
        except ValueError:
            return None

    def put(self, key: str, source: Path) -> StoredObject:
        target = self.path(key)
        if target.exists():
            raise FileExistsError(f"footage key {key!r} already exists in the store")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
        st = target.stat()
        return StoredObject(normalize_key(key), st.st_size, st.st_mtime)

    def open(self, key: str) -> BinaryIO:
        return open(self.path(key), "rb")  # noqa: SIM115 (caller closes)

    def stat(self, key: str) -> StoredObject | None:
        try:
            st = self.path(key).stat()
        except FileNotFoundError:
            return None
        return StoredObject(normalize_key(key), st.st_size, st.st_mtime)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> bool:
        """Remove the file; False if it was already gone. Only the retention sweep calls this."""
        try:
            os.unlink(self.path(key))
        except FileNotFoundError:
            return False
        return True

    def delete_many(self, keys: list[str]) -> list[bool | OSError]:
        """Delete many files: True removed, False already gone, or the error. Keys are checked with
        string tests and joined without pathlib, since the sweep may remove hundreds of thousands."""
        root = str(self.root) + os.sep
        out: list[bool | OSError] = []
        unlink = os.unlink
        for key in keys:
            try:
                if key.startswith("/") or "\\" in key or "//" in key or "/../" in f"/{key}/" or "/./" in f"/{key}/":
                    key = normalize_key(key)
                unlink(root + key)
                out.append(True)
            except FileNotFoundError:
                out.append(False)
            except OSError as exc:
                out.append(exc)
            except InvalidKey as exc:
                out.append(OSError(str(exc)))
        return out

    def iter(self, prefix: str = "") -> Iterator[StoredObject]:
        base = self.root / normalize_key(prefix) if prefix else self.root
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith(".part"):
                    continue
                full = Path(dirpath) / name
                st = full.stat()
                yield StoredObject(full.relative_to(self.root).as_posix(), st.st_size, st.st_mtime)

    def local_path(self, key: str) -> Path | None:
        return self.path(key)

    def free_bytes(self) -> int | None:
        return shutil.disk_usage(self.root).free


def default_store(root: str | Path) -> LocalFolderStore:
    return LocalFolderStore(root)
