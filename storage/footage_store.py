"""Where footage bytes live, behind a small interface keyed by a relative key ("site/cam/file.mp4").

The local folder is the embedded default; an S3-compatible object store (with Object Lock in
compliance mode as a second line of defence) can implement the same six methods later. Only the
retention sweep calls `delete`: every other path to deletion is refused before it reaches a store.
"""
from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    mtime: float


# any key that `normalize_key` would change or refuse: absolute, backslash, empty component, '.' or
# '..', NUL, or empty (matched line by line over the keys joined with newlines)
_UNSAFE_KEYS = re.compile(r"^/|\\|//|(?:^|/)\.{1,2}(?:/|$)|\x00|^$|/$", re.MULTILINE)


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

    def delete_many(self, keys: list[str], workers: int = 2) -> list[bool | OSError]:
        """Delete many files: True removed, False already gone, or the error. The sweep may remove
        hundreds of thousands, so the keys are vetted in one regular-expression pass over all of them
        (a suspicious key goes through `normalize_key`), and the unlinks run on `workers` threads
        (os.unlink releases the GIL) unless the first thousand show the files are mostly gone."""
        root = str(self.root) + os.sep
        joined = "\n".join(keys)
        safe = joined.count("\n") == len(keys) - 1 and not _UNSAFE_KEYS.search(joined)

        def run(part: list[str]) -> list[bool | OSError]:
            out: list[bool | OSError] = []
            unlink, append = os.unlink, out.append
            for key in part:
                try:
                    unlink(root + (key if safe else normalize_key(key)))
                    append(True)
                except FileNotFoundError:
                    append(False)
                except (OSError, ValueError) as exc:  # InvalidKey is a ValueError, as is a NUL byte
                    append(exc if isinstance(exc, OSError) else OSError(str(exc)))
            return out

        head = run(keys[:1_000])
        rest = keys[1_000:]
        # threads pay off for real unlinks (about 40 % faster on two cores); for files already gone
        # the time goes into raising FileNotFoundError under the GIL, where they only add overhead
        if workers <= 1 or not rest or head.count(False) > len(head) // 2:
            return head + run(rest)
        step = -(-len(rest) // workers)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="unlink") as pool:
            parts = list(pool.map(run, [rest[i:i + step] for i in range(0, len(rest), step)]))
        return head + [outcome for part in parts for outcome in part]

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
