"""TFRecord input pipelines: records/s of nestor against TensorFlow 2.15 on the same files, same run.

    PYTHONPATH=python python benchmarks/tfrecord_input.py --tf-python <tf215-venv>/bin/python [--records 100000]

Writes `--records` tf.train.Examples (16 floats, 1-3 string tags, an int label) to a plain and a
GZIP TFRecord file, then times, alternating engines, `--repeats` passes of each workload:
  read        TFRecordDataset(file).batch(256), iterated
  batch+parse TFRecordDataset(file).batch(256).map(parse_example)
  parse+batch TFRecordDataset(file).map(parse_single_example).batch(256) (on a tenth of the records)
TensorFlow runs in a subprocess of `--tf-python` (eager iteration of the dataset, as an input_fn's
Dataset is consumed); without it only nestor's figures are printed. Medians and their ratio.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

BATCH = 256
WORKLOADS = ["read", "batch+parse", "parse+batch"]


def _spec(tf):
    return {"x": tf.io.FixedLenFeature([16], tf.float32), "tags": tf.io.VarLenFeature(tf.string),
            "y": tf.io.FixedLenFeature([], tf.int64)}


def time_workload(tf, path: str, compression: str, workload: str, records: int) -> float:
    """Records per second of one pass over `path` (`tf` is nestor or tensorflow)."""
    spec = _spec(tf)
    ds = tf.data.TFRecordDataset(path, compression_type=compression)
    n = records
    if workload == "read":
        ds = ds.batch(BATCH)
    elif workload == "batch+parse":
        ds = ds.batch(BATCH).map(lambda s: tf.io.parse_example(s, spec))
    else:
        n = records // 10
        ds = ds.take(n).map(lambda s: tf.io.parse_single_example(s, spec)).batch(BATCH)
    t0 = time.perf_counter()
    for _ in ds:
        pass
    return n / (time.perf_counter() - t0)


def write_files(directory: str, records: int) -> dict:
    import numpy as np

    import nestor as tf
    from nestor.serving import serialize_example
    rng = np.random.default_rng(0)
    x = rng.standard_normal((records, 16)).astype(np.float32)
    paths = {}
    for compression in ("", "GZIP"):
        paths[compression] = os.path.join(directory, f"data{'.gz' if compression else ''}.tfrecord")
    examples = [serialize_example({"x": [float(v) for v in x[i]],
                                   "tags": [b"t%d" % j for j in range(1 + i % 3)], "y": [i % 2]})
                for i in range(records)]
    for compression, path in paths.items():
        with tf.io.TFRecordWriter(path, compression) as w:
            for e in examples:
                w.write(e)
    return paths


def worker(engine: str, path: str, compression: str, workload: str, records: int) -> None:
    if engine == "tf":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf
    else:
        import nestor as tf
    time_workload(tf, path, compression, workload, records // 10)  # warm-up (imports, tracing)
    print(json.dumps({"rate": time_workload(tf, path, compression, workload, records)}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--tf-python", default=None, help="a Python with tensorflow 2.15 installed")
    ap.add_argument("--worker", nargs=5, metavar=("ENGINE", "PATH", "COMPRESSION", "WORKLOAD", "RECORDS"),
                    help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        engine, path, compression, workload, records = a.worker
        worker(engine, path, "" if compression == "-" else compression, workload, int(records))
        return
    here = os.path.abspath(__file__)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    tf_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    with tempfile.TemporaryDirectory() as d:
        paths = write_files(d, a.records)
        rows = []
        for compression, path in paths.items():
            for workload in WORKLOADS:
                rates = {"nestor": [], "tf": []}
                engines = [("nestor", sys.executable)] + ([("tf", a.tf_python)] if a.tf_python else [])
                for _ in range(a.repeats):
                    for engine, python in engines:  # alternated: both see the machine's same phases
                        out = subprocess.run([python, here, "--worker", engine, path, compression or "-", workload,
                                              str(a.records)], capture_output=True, text=True,
                                             env=env if engine == "nestor" else tf_env)
                        if out.returncode:
                            raise SystemExit(f"{engine} worker failed:\n{out.stderr[-2000:]}")
                        rates[engine].append(json.loads(out.stdout.strip().splitlines()[-1])["rate"])
                rows.append((compression or "none", workload, statistics.median(rates["nestor"]),
                             statistics.median(rates["tf"]) if rates["tf"] else None))
    print(f"{a.records} records, batch {BATCH}, medians of {a.repeats} passes (records/s)")
    print(f"{'file':<6} {'workload':<12} {'nestor':>12} {'TF 2.15':>12} {'nestor/TF':>10}")
    for comp, workload, ours, theirs in rows:
        ratio = f"{ours / theirs:10.2f}" if theirs else f"{'-':>10}"
        tf_cell = f"{theirs:12,.0f}" if theirs else f"{'-':>12}"
        print(f"{comp:<6} {workload:<12} {ours:12,.0f} {tf_cell} {ratio}")


if __name__ == "__main__":
    main()
