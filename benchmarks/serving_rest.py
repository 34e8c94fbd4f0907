"""REST serving throughput and latency: `nestor serve` (a separate process) with a wide & deep export,
8 concurrent keep-alive clients on loopback, each POSTing one-example :predict requests for `--seconds`.
Prints requests/s and p50/p99 latency; any failed request fails the run (exit 1).

    python benchmarks/serving_rest.py                 # 60 s
    python benchmarks/serving_rest.py --seconds 10 --clients 8 --rows 1
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))

import nestor as tf  # noqa: E402


def _data(n: int, seed: int):
    rng = np.random.default_rng(seed)
    color = rng.choice(["red", "green", "blue", "plum"], n)
    user = np.array([f"user{i}" for i in rng.integers(0, 500, n)])
    age = rng.uniform(18, 70, n).astype(np.float32)
    y = ((color == "red") ^ (age > 40)).astype(np.int64)
    return {"color": color, "user": user, "age": age}, y


def _export(tmp: str) -> str:
    fc = tf.feature_column
    color = fc.categorical_column_with_vocabulary_list("color", ["red", "green", "blue"], num_oov_buckets=1)
    user = fc.categorical_column_with_hash_bucket("user", 1000)
    age = fc.numeric_column("age", normalizer_fn=lambda x: (x - 40.0) / 15.0)
    est = tf.estimator.DNNLinearCombinedClassifier(
        model_dir=os.path.join(tmp, "model"), linear_feature_columns=[color, user, fc.crossed_column(["color", "user"],
                                                                                                    2000)],
        dnn_feature_columns=[age, fc.embedding_column(color, 8), fc.embedding_column(user, 16)],
        dnn_hidden_units=[64, 32], config=tf.estimator.RunConfig(tf_random_seed=3))
    x, y = _data(2000, 0)
    est.train(lambda: tf.data.Dataset.from_tensor_slices((x, y)).shuffle(2000, seed=1).repeat().batch(64), steps=100)
    serving = tf.estimator.export.build_raw_serving_input_receiver_fn(
        {"color": tf.constant(["a"]), "user": tf.constant(["u"]), "age": tf.constant([1.0])})
    path = est.export_saved_model(os.path.join(tmp, "export"), serving).decode()
    return os.path.dirname(path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=60.0, help="measured duration (default 60)")
    p.add_argument("--clients", type=int, default=8, help="concurrent client threads (default 8)")
    p.add_argument("--rows", type=int, default=1, help="examples per request (default 1)")
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        base = _export(tmp)
        port = _free_port()
        env = dict(os.environ, PYTHONPATH=os.path.join(HERE, "..", "python") + os.pathsep +
                   os.environ.get("PYTHONPATH", ""))
        proc = subprocess.Popen([sys.executable, "-m", "nestor.serving", "--model_name", "wd", "--model_base_path",
                                 base, "--rest_api_port", str(port), "--rest_api_host", "127.0.0.1"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.time() + 120
            while True:
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    c.request("GET", "/v1/models/wd")
                    if c.getresponse().status == 200:
                        break
                except OSError:
                    pass
                if time.time() > deadline or proc.poll() is not None:
                    print("server did not come up:", proc.stderr.read().decode()[-2000:] if proc.poll() is not None
                          else "timeout", file=sys.stderr)
                    return 1
                time.sleep(0.2)

            x, _ = _data(4096, 7)
            bodies = [json.dumps({"signature_name": "predict", "instances": [
                {"color": str(x["color"][j]), "user": str(x["user"][j]), "age": float(x["age"][j])}
                for j in range(i, i + args.rows)]}).encode() for i in range(0, 4096 - args.rows, args.rows)]
            latencies = [[] for _ in range(args.clients)]
            failures = []
            stop_at = [0.0]
            start = threading.Barrier(args.clients + 1)

            def client(k: int) -> None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                lat, i = latencies[k], k
                start.wait()
                while time.perf_counter() < stop_at[0]:
                    body = bodies[i % len(bodies)]
                    i += args.clients
                    t0 = time.perf_counter()
                    try:
                        conn.request("POST", "/v1/models/wd:predict", body, {"Content-Type": "application/json"})
                        r = conn.getresponse()
                        data = r.read()
                        if r.status != 200 or b"predictions" not in data:
                            failures.append((r.status, data[:200]))
                            continue
                    except (OSError, http.client.HTTPException) as e:
                        failures.append(repr(e))
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                        continue
                    lat.append(time.perf_counter() - t0)

            threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
            for t in threads:
                t.start()
            stop_at[0] = time.perf_counter() + 2.0  # warm-up
            start.wait()
            for t in threads:
                t.join()
            for lat in latencies:
                lat.clear()
            threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
            start = threading.Barrier(args.clients + 1)
            for t in threads:
                t.start()
            t0 = time.perf_counter()
            stop_at[0] = t0 + args.seconds
            start.wait()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait(30)
    lat = np.array([v for ls in latencies for v in ls]) * 1000.0
    print(f"nestor serve REST :predict, wide & deep, {args.rows} example(s)/request, {args.clients} clients, "
          f"{elapsed:.1f} s on loopback ({os.cpu_count()} cores)")
    print(f"  requests: {lat.size}  failures: {len(failures)}")
    if lat.size:
        print(f"  throughput: {lat.size / elapsed:.0f} requests/s   latency p50 {np.percentile(lat, 50):.2f} ms   "
              f"p99 {np.percentile(lat, 99):.2f} ms")
    if failures:
        print("  first failures:", failures[:3], file=sys.stderr)
        return 1
    return 0 if lat.size else 1


if __name__ == "__main__":
    sys.exit(main())
