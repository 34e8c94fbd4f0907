"""A deterministic iris-like data set (3 species, 4 measurements) as pandas DataFrames,
so the examples run offline and identically under nestor and TensorFlow."""
from __future__ import annotations

import numpy as np
import pandas as pd

CSV_COLUMN_NAMES = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth", "Species"]
SPECIES = ["Setosa", "Versicolor", "Virginica"]
_CENTERS = np.array([[5.0, 3.4, 1.5, 0.25], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.5, 2.0]])
_SCALES = np.array([[0.35, 0.38, 0.17, 0.1], [0.5, 0.31, 0.47, 0.2], [0.63, 0.32, 0.55, 0.27]])


def _make(n: int, seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = _CENTERS[y] + rng.standard_normal((n, 4)) * _SCALES[y] * 1.6
    df = pd.DataFrame(x.astype(np.float32), columns=CSV_COLUMN_NAMES[:4])
    return df, pd.Series(y.astype(np.int64), name="Species")


def load_data(n_train: int = 1200, n_test: int = 300) -> tuple:
    """((train_x, train_y), (test_x, test_y)) like the TensorFlow tutorial's iris_data.load_data()."""
    return _make(n_train, 0), _make(n_test, 1)
