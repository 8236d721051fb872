"""1:N search and duplicate pairs against straightforward float64 references."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attendance.face_index import FaceIndex, duplicate_pairs


def _gallery(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.1, (n, 128)).astype(np.float32)


def test_distances_match_face_recognition_face_distance() -> None:
    import face_recognition

    x = _gallery(2000)
    q = x[17] + 0.02
    idx = FaceIndex(x)
    np.testing.assert_allclose(idx.distances(q), face_recognition.face_distance(x.astype(np.float64), q.astype(np.float64)), atol=2e-5)
    batch = idx.distances(x[:5] + 0.01)
    assert batch.shape == (5, 2000)
    np.testing.assert_allclose(batch[3], idx.distances(x[3] + 0.01), atol=1e-5)


def test_nearest_and_within() -> None:
    x = _gallery(500)
    ids = np.arange(1000, 1500)
    idx = FaceIndex(x, ids)
    got_ids, got_d = idx.nearest(x[[3, 9]] + 0.001, k=3)
    assert got_ids[:, 0].tolist() == [1003, 1009]
    assert np.all(np.diff(got_d, axis=1) >= 0)
    one_ids, _ = idx.nearest(x[42], k=1)
    assert one_ids.tolist() == [1042]
    w_ids, w_d = idx.within(x[5], 0.05)
    assert w_ids.tolist() == [1005] and w_d[0] < 1e-3


def test_mismatched_ids_rejected() -> None:
    with pytest.raises(ValueError):
        FaceIndex(_gallery(3), np.arange(4))


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 60), st.integers(0, 10_000), st.integers(1, 17), st.floats(0.05, 1.5))
def test_duplicate_pairs_equal_brute_force(n: int, seed: int, block: int, tol: float) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.1, (n, 128)).astype(np.float32)
    # plant near-copies, some under the same key (the same person's history: not a duplicate)
    for a, b in rng.integers(0, n, (n // 3, 2)):
        x[b] = x[a] + rng.normal(0, 0.01, 128)
    keys = rng.integers(0, max(2, n // 2), n).astype(str)
    got = duplicate_pairs(x, keys, tol, block=block)
    d = np.linalg.norm(x[:, None, :].astype(np.float64) - x[None, :, :], axis=2)
    want = {(i, j) for i in range(n) for j in range(i + 1, n) if d[i, j] <= tol and keys[i] != keys[j]}
    edge = {(i, j) for i in range(n) for j in range(i + 1, n) if abs(d[i, j] - tol) < 1e-4}
    assert set(zip(got.i.tolist(), got.j.tolist())) - edge == want - edge
    assert np.all(np.diff(got.distance) >= 0)
    if len(got):
        np.testing.assert_allclose(got.distance, d[got.i, got.j], atol=1e-3)
