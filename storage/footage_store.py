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


def _plain_keys(joined: str) -> bool:
    """`not _UNSAFE_KEYS.search(joined)` for newline-joined keys, with substring tests first: over
    the megabytes of a large sweep the expression alone took 0.6 s, and it is only needed when a
    key may hold a "." or ".." segment."""
    if (not joined or joined[0] in "/\n" or joined[-1] in "/\n" or "\\" in joined or "\x00" in joined
            or "//" in joined or "\n\n" in joined or "/\n" in joined or "\n/" in joined):
        return False
    if joined[0] == "." or "/." in joined or "\n." in joined:
        return not _UNSAFE_KEYS.search(joined)
    return True


def _maybe_present(root: str, keys: list[str]) -> list[int]:
    """Indexes of the keys whose folder listing shows an entry of that name (vetted keys only). A
    folder that is missing holds nothing; one that cannot be listed leaves every key to unlink."""
    listings: dict[str, frozenset[str] | None] = {}
    todo = []
    for i, key in enumerate(keys):
        folder, _, name = key.rpartition("/")
        if folder in listings:
            names = listings[folder]
        else:
            try:
                names = frozenset(os.listdir(root + folder))
            except FileNotFoundError:
                names = frozenset()
            except OSError:
                names = None
            listings[folder] = names
        if names is None or name in names:
            todo.append(i)
    return todo


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
        hundreds of thousands, so the keys are vetted in one pass over all of them (a suspicious key
        goes through `normalize_key`); each folder is listed once, so a file the listing does not show
        is reported gone without an unlink that would fail (raising FileNotFoundError holds the GIL
        and cost 2.5 us a key); and the unlinks run on `workers` threads (os.unlink releases the GIL).
        A file written under an expired key after its folder was listed is reported gone and left in
        place; the sweep only passes keys of footage already marked deleted, which nothing writes to."""
        root = str(self.root) + os.sep
        joined = "\n".join(keys)
        safe = joined.count("\n") == len(keys) - 1 and _plain_keys(joined)
        out: list[bool | OSError] = [False] * len(keys)
        todo = _maybe_present(root, keys) if safe else list(range(len(keys)))

        def run(part: list[int]) -> None:
            unlink = os.unlink
            for i in part:
                key = keys[i]
                try:
                    unlink(root + (key if safe else normalize_key(key)))
                    out[i] = True
                except FileNotFoundError:
                    out[i] = False
                except (OSError, ValueError) as exc:  # InvalidKey is a ValueError, as is a NUL byte
                    out[i] = exc if isinstance(exc, OSError) else OSError(str(exc))

        if workers <= 1 or len(todo) < 1_000:
            run(todo)
            return out
        step = -(-len(todo) // workers)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="unlink") as pool:
            list(pool.map(run, [todo[i:i + step] for i in range(0, len(todo), step)]))
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
