"""String feature transforms on 1,000,000 strings: nestor's hash-bucket and vocabulary-lookup
kernels against pandas doing the same job (pandas.util.hash_array; Index.get_indexer), measured
in the same run. The feature-column test checks the results; this measures their speed.

    python benchmarks/feature_ops.py
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _util import median_time, table  # noqa: E402


def main() -> None:
    import pandas as pd

    import nestor as tf
    from nestor.ops import feature_ops as fo

    rng = np.random.default_rng(0)
    words = np.array([f"word{i}".encode() for i in range(1000)], dtype=object)
    data = np.concatenate([words[rng.integers(0, 1000, 900_000)],
                           np.array([f"oov{i}".encode() for i in range(100_000)], dtype=object)])
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder_with_default(tf.constant(data), [None])
        h = fo.string_to_hash_bucket_fast(x, 1 << 20)
        v = fo.vocab_lookup(x, [w.decode() for w in words], num_oov_buckets=10)
        s = tf.Session()
        ours_h = median_time(lambda: s.run(h), repeats=5)
        ours_v = median_time(lambda: s.run(v), repeats=5)
    index = pd.Index(words)
    ref_h = median_time(lambda: pd.util.hash_array(data) % (1 << 20), repeats=5)
    ref_v = median_time(lambda: index.get_indexer(data), repeats=5)
    rows = [("hash bucket, 1e6 strings (ms)", ours_h * 1e3, ref_h * 1e3, ref_h / ours_h),
            ("vocabulary lookup 1000 words, 1e6 strings (ms)", ours_v * 1e3, ref_v * 1e3, ref_v / ours_v)]
    print("medians of 5; reference: pandas on the same object array")
    print(table(["measure", "nestor", "pandas", "speed-up"], rows))


if __name__ == "__main__":
    main()
