"""A fitted forest's trees as flat arrays, and the loop that predicts with them.

Unpickling a forest imports scikit-learn (and through it ``scipy.stats``),
most of a second in every fresh process.  So overflight does not ask the
forest for its predictions when it can help it: :class:`TreeArrays` holds its
trees as flat arrays and predicts with its own compiled loop
(:func:`overflight.jit.njit`), which repeats ``predict_proba`` bit for bit
(float32 features, the same split and missing-value rules, the leaves'
fractions summed tree after tree).  :func:`_verified` checks that against
the forest's own ``predict_proba`` on probe rows (split thresholds, the
float32 values either side of them, NaN) before
:mod:`overflight.classify.model` writes the arrays to its cache; nothing
here imports scikit-learn.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from overflight.jit import njit

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@njit
def _forest_sum(
    x: F32, root: I64, left: I64, right: I64, feat: I64, thr: F64, nan: Bools, val: F64, out: F64
) -> None:
    """Add to ``out[i]`` the leaf values of row ``x[i]`` in every tree, tree after
    tree (a node whose left child is itself is a leaf; children follow parents)."""
    for t in range(root.size):
        for i in range(x.shape[0]):
            node = root[t]
            while left[node] != node:
                v = x[i, feat[node]]
                if np.isnan(v):
                    node = left[node] if nan[node] else right[node]
                elif v <= thr[node]:
                    node = left[node]
                else:
                    node = right[node]
            for c in range(out.shape[1]):
                out[i, c] += val[node, c]


class TreeArrays:
    """The trees of a fitted scikit-learn forest classifier as flat arrays.

    :meth:`predict_proba` repeats the forest's: features cast to float32, each
    tree walked from its root (a NaN goes where the split sends missing values,
    any other value left when ``x <= threshold``), the leaves' class fractions
    added tree after tree and divided by the number of trees.  Node ``i`` of
    every tree is one row of the arrays, children after their parent (as
    scikit-learn numbers them); a leaf's children are itself.

    Examples
    --------
    >>> t = TreeArrays(["a", "b"], {"left": [1, 1, 2], "right": [2, 1, 2],
    ...     "feature": [0, 0, 0], "threshold": [0.5, 0, 0], "nan_left": [True, 0, 0],
    ...     "value": [[0.5, 0.5], [1, 0], [0, 1]], "roots": [0]}, n_features=1)
    >>> t.predict_proba(np.array([[0.0], [1.0], [np.nan]])).tolist()
    [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
    """

    NAMES = ("left", "right", "feature", "threshold", "nan_left", "value", "roots")

    def __init__(
        self, classes: list[str], arrays: Mapping[str, Any], n_features: int, nan_ok: bool = True
    ) -> None:
        self.classes = [str(c) for c in classes]
        self.left = np.asarray(arrays["left"], np.int64)
        self.right = np.asarray(arrays["right"], np.int64)
        self.feature = np.asarray(arrays["feature"], np.int64)
        self.threshold = np.asarray(arrays["threshold"], np.float64)
        self.nan_left = np.asarray(arrays["nan_left"], bool)
        self.value = np.asarray(arrays["value"], np.float64)
        self.roots = np.asarray(arrays["roots"], np.int64)
        self.n_features = int(n_features)
        #: whether the forest takes NaN (a missing value) as input
        self.nan_ok = nan_ok
        n = self.threshold.size
        own = np.arange(n)
        links = np.concatenate([self.left, self.right, self.roots])
        if not (
            self.threshold.shape == self.left.shape == self.right.shape == (n,)
            and self.feature.shape == self.nan_left.shape == (n,)
            and self.value.shape == (n, len(self.classes))
            and self.roots.ndim == 1
            and self.roots.size > 0
            and bool(np.all((links >= 0) & (links < n)))
            and bool(np.all((self.left >= own) & (self.right >= own)))
            and bool(np.all((self.feature >= 0) & (self.feature < self.n_features)))
        ):
            raise ValueError("inconsistent tree arrays")

    @classmethod
    def from_estimator(cls, est: Any) -> TreeArrays | None:
        """The trees of a fitted forest classifier (None for any other estimator)."""
        trees = getattr(est, "estimators_", None)
        if getattr(est, "n_outputs_", 0) != 1 or not isinstance(trees, list) or not trees:
            return None
        classes = [str(c) for c in est.classes_]
        parts: dict[str, list[npt.NDArray[Any]]] = {k: [] for k in cls.NAMES}
        start = 0
        for tree in trees:
            t = getattr(tree, "tree_", None)
            if t is None or t.value.ndim != 3 or t.value.shape[2] < len(classes):
                return None
            own = np.arange(t.node_count)
            leaf = t.children_left < 0
            parts["left"].append(np.where(leaf, own, t.children_left) + start)
            parts["right"].append(np.where(leaf, own, t.children_right) + start)
            parts["feature"].append(np.where(leaf, 0, t.feature))
            parts["threshold"].append(t.threshold)
            missing = getattr(t, "missing_go_to_left", np.zeros(t.node_count, bool))
            parts["nan_left"].append(np.asarray(missing, bool))
            parts["value"].append(t.value[:, 0, : len(classes)])
            parts["roots"].append(np.array([start]))
            start += t.node_count
        arrays = {k: np.concatenate(v) for k, v in parts.items()}
        return cls(classes, arrays, int(est.n_features_in_))

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        """The arrays to store, by name (:data:`NAMES`), compact dtypes."""
        out = {k: getattr(self, k) for k in self.NAMES}
        return out | {k: out[k].astype(np.int32) for k in ("left", "right", "feature", "roots")}

    def predict_proba(self, x: npt.ArrayLike) -> npt.NDArray[np.float64] | None:
        """Class probabilities of rows ``x``; None when scikit-learn would refuse
        them (a wrong width, a value infinite as float32, NaN unless :attr:`nan_ok`)."""
        x32 = np.ascontiguousarray(x, dtype=np.float32)
        if x32.ndim != 2 or x32.shape[1] != self.n_features or np.isinf(x32).any():
            return None
        if not self.nan_ok and np.isnan(x32).any():
            return None
        out = np.zeros((x32.shape[0], len(self.classes)))
        walk = (self.left, self.right, self.feature, self.threshold, self.nan_left)
        _forest_sum(x32, self.roots, *walk, self.value, out)
        out /= self.roots.size
        return out


def _probe(trees: TreeArrays, seed: int = 0, n: int = 512) -> npt.NDArray[np.float64]:
    """Rows to compare two predictors on: split thresholds, the float32 values
    either side of them, and (one in twenty) NaN, drawn per feature."""
    rng = np.random.default_rng(seed)
    split = trees.left != np.arange(trees.left.size)
    out = np.zeros((n, trees.n_features))
    for j in range(trees.n_features):
        thr = trees.threshold[split & (trees.feature == j)].astype(np.float32)
        if thr.size == 0:
            continue
        pick = rng.choice(thr, n)
        near = np.stack([np.nextafter(pick, -np.inf), pick, np.nextafter(pick, np.inf)])
        col = near[rng.integers(0, 3, n), np.arange(n)].astype(np.float64)
        out[:, j] = np.where(rng.random(n) < 0.05, np.nan, col)
    return out


def _verified(est: Any) -> TreeArrays | None:
    """The estimator's :class:`TreeArrays` when they predict exactly as it does."""
    try:
        trees = TreeArrays.from_estimator(est)
        if trees is None:
            return None
        x = _probe(trees)
        try:
            want = est.predict_proba(x)
        except ValueError:  # a forest that refuses NaN: compare without, and refuse it too
            trees.nan_ok = False
            x = np.nan_to_num(x)
            want = est.predict_proba(x)
        mine = trees.predict_proba(x)
        same = mine is not None and np.array_equal(mine, want)
    except (AttributeError, TypeError, ValueError):
        return None
    return trees if same else None
