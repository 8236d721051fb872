"""1:N face search and the city-wide duplicate-identity pass, as float32 matrix products.

face_recognition's `face_distance` computes `norm(X - q)` in float64: it streams a 100 MB temporary per
query (≈40-55 ms for 100,000 encodings here). With the gallery kept as one contiguous float32 matrix
and its squared norms precomputed, a query is one GEMV, `‖x‖² − 2·X·q + ‖q‖²`, and a batch of queries
one GEMM (faces.md §2.4). The float32 error against float64 is ~3e-7, far below any threshold.

The duplicate pass uses an augmented product so that a block of squared distances comes out of the
GEMM directly: with a_i = [−2·x_i, ‖x_i‖², 1] and b_j = [x_j, 1, ‖x_j‖²], a_i·b_j = ‖x_i − x_j‖².
Only the upper triangle of blocks is computed, and each block costs one GEMM, one compare and one
nonzero, so 60,000 encodings need no Python loop over rows or pairs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DIM = 128


def _as_matrix(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(x, dtype=np.float32).reshape(-1, DIM))


class FaceIndex:
    """An immutable gallery of encodings with their ids (trainee ids, row ids, ...).

    The gallery is stored augmented, a_j = [x_j, ‖x_j‖²], so that one product with [−2q, 1] gives
    ‖x_j‖² − 2·x_j·q for every row: the nearest row is an argmin over that, with no pass to add norms,
    and only the winners' distances need the square root. A single query runs its GEMV on one BLAS
    thread: it is memory-bound, and a second thread waiting for a core that another process holds made
    it 3-4x slower on the shared test machine; batches (compute-bound GEMM) use every thread."""

    QUERY_CHUNK = 128  # queries per GEMM: bounds the score matrix (128 x 100,000 float32 = 51 MB)

    def __init__(self, encodings: np.ndarray, ids: np.ndarray | None = None) -> None:
        x = _as_matrix(encodings)
        n = len(x)
        self.ids = np.arange(n, dtype=np.int64) if ids is None else np.asarray(ids, dtype=np.int64)
        if len(self.ids) != n:
            raise ValueError(f"{n} encodings but {len(self.ids)} ids")
        self._aug = np.empty((n, DIM + 1), np.float32)
        self._aug[:, :DIM] = x
        self._aug[:, DIM] = np.einsum("ij,ij->i", x, x)
        self.encodings = self._aug[:, :DIM]
        self.sq_norms = self._aug[:, DIM]

    def __len__(self) -> int:
        return len(self._aug)

    @staticmethod
    def _queries(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[−2q, 1] rows and ‖q‖²."""
        qa = np.empty((len(q), DIM + 1), np.float32)
        qa[:, :DIM] = q
        qa[:, :DIM] *= -2.0
        qa[:, DIM] = 1.0
        return qa, np.einsum("ij,ij->i", q, q)

    def _scores(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(k, n) ‖x‖² − 2·x·q, and (k,) ‖q‖²."""
        qa, qq = self._queries(q)
        if len(q) == 1:
            with _blas_threads(1):
                return (self._aug @ qa[0])[None, :], qq
        return qa @ self._aug.T, qq

    def distances(self, queries: np.ndarray) -> np.ndarray:
        """(k, n) float32 distances for k queries; (n,) for a single 128-vector."""
        single = np.asarray(queries).ndim == 1
        q = _as_matrix(queries)
        sq, qq = self._scores(q)
        sq += qq[:, None]
        np.maximum(sq, 0.0, out=sq)
        d = np.sqrt(sq, out=sq)
        return d[0] if single else d

    def nearest(self, queries: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Ids and distances of the k nearest gallery entries per query, nearest first: (q, k) each
        ((k,) for a single query)."""
        single = np.asarray(queries).ndim == 1
        q = _as_matrix(queries)
        k = min(k, len(self))
        ids_out = np.empty((len(q), k), np.int64)
        d_out = np.empty((len(q), k), np.float32)
        for c0 in range(0, len(q), self.QUERY_CHUNK):
            chunk = q[c0:c0 + self.QUERY_CHUNK]
            sq, qq = self._scores(chunk)
            if k == 1:  # the common case: one pass over the scores
                best = np.argmin(sq, axis=1)[:, None]
            elif k > 1:
                part = np.argpartition(sq, k - 1, axis=1)[:, :k] if k < sq.shape[1] else np.argsort(sq, axis=1)
                order = np.argsort(np.take_along_axis(sq, part, axis=1), axis=1, kind="stable")
                best = np.take_along_axis(part, order, axis=1)
            else:
                continue
            ids_out[c0:c0 + len(chunk)] = self.ids[best]
            d_out[c0:c0 + len(chunk)] = np.sqrt(np.maximum(np.take_along_axis(sq, best, axis=1) + qq[:, None], 0.0))
        return (ids_out[0], d_out[0]) if single else (ids_out, d_out)

    def within(self, query: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
        """Ids and distances of every gallery entry within `radius` of one query, nearest first."""
        d = self.distances(np.asarray(query).reshape(DIM))
        hit = np.flatnonzero(d <= radius)
        order = np.argsort(d[hit], kind="stable")
        return self.ids[hit[order]], d[hit[order]]


_CONTROLLER = None


def _blas_threads(n: int):  # type: ignore[no-untyped-def]
    """Context limiting BLAS threads (25 µs); the controller is built once, on first use."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=n, user_api="blas")


@dataclass(frozen=True)
class DuplicatePairs:
    """Row index pairs (i < j) closer than the tolerance whose identity keys differ, nearest first."""

    i: np.ndarray  # int64
    j: np.ndarray  # int64
    distance: np.ndarray  # float32

    def __len__(self) -> int:
        return len(self.i)


def duplicate_pairs(encodings: np.ndarray, keys: np.ndarray, tolerance: float, *, block: int = 4096) -> DuplicatePairs:
    """Every pair of encodings within `tolerance` whose keys (resident-ID hashes) differ.

    One person enrolled under two resident IDs shows up as such a pair; pairs under the same key (the
    same person's enrolment history) are not reported."""
    x = _as_matrix(encodings)
    keys = np.asarray(keys)
    n = len(x)
    if len(keys) != n:
        raise ValueError(f"{n} encodings but {len(keys)} keys")
    sq = np.einsum("ij,ij->i", x, x)
    ones = np.ones((n, 1), np.float32)
    a = np.hstack([-2.0 * x, sq[:, None], ones])
    b = np.hstack([x, ones, sq[:, None]])
    # integer codes for the keys, so the "different identity" test is an integer compare
    _, codes = np.unique(keys, return_inverse=True)
    limit = np.float32(tolerance * tolerance)
    out_i, out_j, out_d = [], [], []
    bt = np.ascontiguousarray(b.T)
    buffers: dict[tuple[int, int], np.ndarray] = {}  # reused: a fresh 64 MB block each time costs page faults
    for r0 in range(0, n, block):
        r1 = min(n, r0 + block)
        for c0 in range(r0, n, block):
            c1 = min(n, c0 + block)
            d2 = buffers.get((r1 - r0, c1 - c0))
            if d2 is None:
                d2 = buffers.setdefault((r1 - r0, c1 - c0), np.empty((r1 - r0, c1 - c0), np.float32))
            np.matmul(a[r0:r1], bt[:, c0:c1], out=d2)
            rows, cols = np.nonzero(d2 <= limit)
            rows += r0
            cols += c0
            keep = (rows < cols) & (codes[rows] != codes[cols])
            rows, cols = rows[keep], cols[keep]
            out_i.append(rows)
            out_j.append(cols)
            out_d.append(d2[rows - r0, cols - c0])
    i = np.concatenate(out_i).astype(np.int64) if out_i else np.empty(0, np.int64)
    j = np.concatenate(out_j).astype(np.int64) if out_j else np.empty(0, np.int64)
    d = np.sqrt(np.maximum(np.concatenate(out_d), 0)) if out_d else np.empty(0, np.float32)
    order = np.argsort(d, kind="stable")
    return DuplicatePairs(i[order], j[order], d[order].astype(np.float32))
