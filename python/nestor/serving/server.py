"""TensorFlow Serving's REST API for nestor exports, on aiohttp.

Serves the highest numeric version directory under `model_base_path`; a newer version that
appears is loaded completely (in a worker thread) before requests switch to it, so there is
no restart and no request ever sees a half-loaded model. Predictions run in a thread pool so
the event loop keeps answering while models compute.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import concurrent.futures
import json
import logging
import os
import socket
import struct
import threading
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from aiohttp import web

from .. import errors as _errors
from ..saved_model import LoadedModel, load

log = logging.getLogger("nestor.serving")

PREDICT = "tensorflow/serving/predict"
CLASSIFY = "tensorflow/serving/classify"
REGRESS = "tensorflow/serving/regress"
DEFAULT_SIGNATURE = "serving_default"

_DT = {"float32": "DT_FLOAT", "float64": "DT_DOUBLE", "int32": "DT_INT32", "int64": "DT_INT64",
       "string": "DT_STRING", "bool": "DT_BOOL", "int8": "DT_INT8", "uint8": "DT_UINT8",
       "int16": "DT_INT16", "float16": "DT_HALF"}
_NP = {"float32": np.float32, "float64": np.float64, "int32": np.int32, "int64": np.int64, "bool": np.bool_,
       "int8": np.int8, "uint8": np.uint8, "int16": np.int16, "float16": np.float16}


class RequestError(Exception):
    """A bad request: answered with `status` and {"error": message}."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


# ----------------------------------------------------------------------------- model versions

def _fingerprint(path: str) -> Any:
    """Names, sizes and mtimes of a version directory's entries: changes while a copy is in progress."""
    try:
        with os.scandir(path) as it:
            return tuple(sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in it))
    except OSError:
        return None


class ModelManager:
    """Keeps the newest loadable version of one model; `poll()` picks up new version directories."""

    def __init__(self, name: str, base_path: str):
        self.name = name
        self.base_path = base_path
        self._lock = threading.Lock()
        self._current: Optional[Tuple[int, LoadedModel]] = None
        self._failed: Dict[int, Any] = {}  # version -> fingerprint of the directory that failed to load

    def versions_on_disk(self) -> List[int]:
        try:
            names = os.listdir(self.base_path)
        except OSError:
            return []
        return sorted(int(n) for n in names if n.isdigit() and os.path.isdir(os.path.join(self.base_path, n)))

    def poll(self) -> None:
        """Loads the highest version on disk if it is newer than the one served (blocking; call off-loop)."""
        for version in reversed(self.versions_on_disk()):
            cur = self._current
            if cur is not None and cur[0] >= version:
                return
            path = os.path.join(self.base_path, str(version))
            stamp = _fingerprint(path)
            if stamp is None or self._failed.get(version) == stamp:
                continue  # gone, or failed before and unchanged since (a copy in progress changes it)
            try:
                model = load(path)
            except Exception as e:  # a damaged export: keep serving what we have
                log.error("model %s: version %d at %s failed to load: %s", self.name, version, path, e)
                self._failed[version] = stamp
                continue
            with self._lock:
                self._current = (version, model)
            log.info("model %s: serving version %d from %s", self.name, version, path)
            return

    def get(self, version: Optional[str]) -> Tuple[int, LoadedModel]:
        cur = self._current
        if cur is None:
            raise RequestError(f"Servable not found for request: Latest({self.name}): no version of model "
                               f"{self.name} is loaded (none under {self.base_path})", 404)
        if version is not None:
            if not version.isdigit() or int(version) != cur[0]:
                raise RequestError(f"Servable not found for request: Specific({self.name}, {version}); "
                                   f"available version: {cur[0]}", 404)
        return cur


# ----------------------------------------------------------------------------- JSON <-> arrays

def _decode_b64(v: Any) -> Any:
    if isinstance(v, dict):
        if set(v) == {"b64"} and isinstance(v["b64"], str):
            try:
                return base64.b64decode(v["b64"], validate=True)
            except ValueError as e:
                raise RequestError(f"invalid base64 value {v['b64'][:40]!r}: {e}") from None
        raise RequestError(f"unexpected object {json.dumps(v)[:80]} (only {{\"b64\": ...}} is allowed as a value)")
    if isinstance(v, list):
        return [_decode_b64(x) for x in v]
    return v


def _leaves(v: Any):
    if isinstance(v, list):
        for x in v:
            yield from _leaves(x)
    else:
        yield v


def _shape_str(shape: Optional[List[Optional[int]]]) -> str:
    return "unknown" if shape is None else "[" + ", ".join("-1" if d is None else str(d) for d in shape) + "]"


def _to_array(key: str, value: Any, info: Dict[str, Any]) -> np.ndarray:
    """A JSON value for input `key` as an array of the signature's dtype; checks types and shape."""
    dtype = info["dtype"]
    value = _decode_b64(value)
    for leaf in _leaves(value):
        if dtype == "string":
            ok = isinstance(leaf, (str, bytes))
        elif dtype == "bool":
            ok = isinstance(leaf, bool)
        elif dtype.startswith(("int", "uint")):
            ok = isinstance(leaf, int) and not isinstance(leaf, bool)
        else:
            ok = isinstance(leaf, (int, float)) and not isinstance(leaf, bool)
        if not ok:
            raise RequestError(f"input '{key}' expects {_DT.get(dtype, dtype)} values, got "
                               f"{type(leaf).__name__} {json.dumps(leaf if not isinstance(leaf, bytes) else 'bytes')}")
    try:
        if dtype == "string":
            arr = np.array(value, dtype=object)
            if arr.dtype != object or any(isinstance(x, list) for x in arr.reshape(-1)):
                raise ValueError("ragged")
        else:
            arr = np.array(value, dtype=_NP.get(dtype, np.float32))
    except (ValueError, OverflowError, TypeError) as e:
        raise RequestError(f"input '{key}' is not a rectangular {_DT.get(dtype, dtype)} tensor ({e})") from None
    want = info.get("shape")
    if want is not None:
        if arr.ndim != len(want) or any(w is not None and w != g for w, g in zip(want, arr.shape)):
            raise RequestError(f"input '{key}' has shape {_shape_str(list(arr.shape))}, the signature expects "
                               f"{_shape_str(want)}")
    return arr


def _to_json(arr: Any) -> Any:
    a = np.asarray(arr)
    if a.dtype == object or a.dtype.kind in "SU":
        def conv(x: Any) -> Any:
            if isinstance(x, list):
                return [conv(y) for y in x]
            if isinstance(x, bytes):
                try:
                    return x.decode("utf-8")
                except UnicodeDecodeError:
                    return {"b64": base64.b64encode(x).decode("ascii")}
            return x if isinstance(x, str) else str(x)
        return conv(a.tolist())
    return a.tolist()


# ----------------------------------------------------------------------------- tf.Example encoding

def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(num: int, payload: bytes) -> bytes:
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def _feature(name: str, value: Any) -> bytes:
    vals = value if isinstance(value, list) else [value]
    vals = _decode_b64(vals)
    if any(isinstance(v, list) for v in vals):
        raise RequestError(f"example feature '{name}' must be a value or a flat list")
    if all(isinstance(v, (str, bytes)) for v in vals):
        body = b"".join(_field(1, v.encode() if isinstance(v, str) else v) for v in vals)
        feat = _field(1, body)  # bytes_list
    elif all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        feat = _field(3, _field(1, b"".join(_varint(v) for v in vals)))  # int64_list, packed
    elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
        feat = _field(2, _field(1, struct.pack(f"<{len(vals)}f", *vals)))  # float_list, packed
    else:
        raise RequestError(f"example feature '{name}' mixes types or has an unsupported value")
    return _field(1, _field(1, name.encode()) + _field(2, feat))  # map entry of Features.feature


def serialize_example(example: Any) -> bytes:
    """A JSON example (feature name -> value or list) as a serialized tf.train.Example."""
    if not isinstance(example, dict):
        raise RequestError(f"each example must be an object of feature name -> value, got {json.dumps(example)[:80]}")
    features = b"".join(_feature(k, v) for k, v in sorted(example.items()))
    return _field(1, features)


# ----------------------------------------------------------------------------- request handling

def _signature(model: LoadedModel, body: Dict[str, Any]) -> Any:
    name = body.get("signature_name", DEFAULT_SIGNATURE)
    if not isinstance(name, str):
        raise RequestError("'signature_name' must be a string")
    sig = model.signatures.get(name)
    if sig is None:
        raise RequestError(f"Serving signature name: \"{name}\" not found in signature def; "
                           f"available: {sorted(model.signatures)}")
    return sig


def _call(sig: Any, feeds: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    try:
        return sig(feeds)
    except (_errors.OpError, ValueError, TypeError) as e:
        raise RequestError(str(getattr(e, "message", None) or e)) from None


def predict(model: LoadedModel, body: Any) -> Dict[str, Any]:
    if not isinstance(body, dict):
        raise RequestError("request body must be a JSON object")
    sig = _signature(model, body)
    if ("instances" in body) == ("inputs" in body):
        raise RequestError("request must have exactly one of 'instances' (row format) or 'inputs' (columnar)")
    in_keys = sorted(sig.inputs)
    if "instances" in body:
        rows = body["instances"]
        if not isinstance(rows, list) or not rows:
            raise RequestError("'instances' must be a non-empty list")
        cols: Dict[str, List[Any]] = {k: [] for k in in_keys}
        for i, row in enumerate(rows):
            if isinstance(row, dict) and not (set(row) == {"b64"} and len(in_keys) == 1):
                extra = sorted(set(row) - set(in_keys))
                if extra:
                    raise RequestError(f"instance {i} has unknown input '{extra[0]}'; inputs are {in_keys}")
                missing = sorted(set(in_keys) - set(row))
                if missing:
                    raise RequestError(f"instance {i} is missing input '{missing[0]}'")
                for k in in_keys:
                    cols[k].append(row[k])
            elif len(in_keys) == 1:
                cols[in_keys[0]].append(row)
            else:
                raise RequestError(f"instance {i} must be an object with inputs {in_keys} "
                                   "(a bare value is only allowed for a signature with one input)")
        feeds = {k: _to_array(k, v, sig.inputs[k]) for k, v in cols.items()}
        out = _call(sig, feeds)
        n = len(rows)
        for k, v in out.items():
            if np.ndim(v) == 0 or np.shape(v)[0] != n:
                raise RequestError(f"output '{k}' has batch size {np.shape(v)[0] if np.ndim(v) else 'none'}, "
                                   f"not {n}: use the columnar 'inputs' format")
        if len(out) == 1:
            (v,) = out.values()
            return {"predictions": _to_json(v)}
        jcols = {k: _to_json(v) for k, v in out.items()}
        return {"predictions": [{k: jcols[k][i] for k in jcols} for i in range(n)]}
    inputs = body["inputs"]
    if isinstance(inputs, dict) and not (set(inputs) == {"b64"} and len(in_keys) == 1):
        extra = sorted(set(inputs) - set(in_keys))
        if extra:
            raise RequestError(f"unknown input '{extra[0]}'; inputs are {in_keys}")
        missing = sorted(set(in_keys) - set(inputs))
        if missing:
            raise RequestError(f"missing input '{missing[0]}'")
    elif len(in_keys) == 1:
        inputs = {in_keys[0]: inputs}
    else:
        raise RequestError(f"'inputs' must be an object with inputs {in_keys}")
    out = _call(sig, {k: _to_array(k, inputs[k], sig.inputs[k]) for k in in_keys})
    if len(out) == 1:
        return {"outputs": _to_json(next(iter(out.values())))}
    return {"outputs": {k: _to_json(v) for k, v in out.items()}}


def classify_or_regress(model: LoadedModel, body: Any, method: str) -> Dict[str, Any]:
    if not isinstance(body, dict):
        raise RequestError("request body must be a JSON object")
    sig = _signature(model, body)
    verb = "classify" if method == CLASSIFY else "regress"
    if sig.method_name != method:
        raise RequestError(f"signature '{sig.name}' is a {sig.method_name} signature; it cannot {verb} "
                           f"(expected method {method})")
    examples = body.get("examples")
    if not isinstance(examples, list) or not examples:
        raise RequestError("'examples' must be a non-empty list")
    context = body.get("context", {})
    if not isinstance(context, dict):
        raise RequestError("'context' must be an object")
    serialized = [serialize_example({**context, **e} if isinstance(e, dict) else e) for e in examples]
    (key,) = sig.inputs
    out = _call(sig, {key: np.array(serialized, dtype=object)})
    n = len(examples)
    if method == REGRESS:
        v = np.asarray(out["outputs"]).reshape(n, -1)
        return {"results": [float(r[0]) for r in v]}
    scores = np.asarray(out["scores"]).reshape(n, -1) if "scores" in out else None
    classes = np.asarray(out["classes"]).reshape(n, -1) if "classes" in out else None
    results = []
    for i in range(n):
        m = (scores if scores is not None else classes).shape[1]
        row = []
        for j in range(m):
            label = _to_json(classes[i, j]) if classes is not None else str(j)
            row.append([label, float(scores[i, j])] if scores is not None else [label])
        results.append(row)
    return {"results": results}


def _metadata(manager: ModelManager, version: int, model: LoadedModel) -> Dict[str, Any]:
    def tinfo(t: Dict[str, Any]) -> Dict[str, Any]:
        shape = t.get("shape")
        ts = {"unknown_rank": True} if shape is None else \
            {"dim": [{"size": str(-1 if d is None else d), "name": ""} for d in shape], "unknown_rank": False}
        return {"dtype": _DT.get(t["dtype"], "DT_INVALID"), "tensor_shape": ts, "name": t["name"]}
    defs = {name: {"inputs": {k: tinfo(v) for k, v in s.inputs.items()},
                   "outputs": {k: tinfo(v) for k, v in s.outputs.items()},
                   "method_name": s.method_name, "defaults": {}}
            for name, s in model.signatures.items()}
    return {"model_spec": {"name": manager.name, "signature_name": "", "version": str(version)},
            "metadata": {"signature_def": {"signature_def": defs}}}


def _parse_path(rest: str) -> Tuple[str, Optional[str], str]:
    """`NAME[/versions/N][/metadata|:verb]` -> (name, version, action)."""
    action = "status"
    if ":" in rest:
        rest, verb = rest.rsplit(":", 1)
        action = verb
    parts = rest.split("/")
    name, version = parts[0], None
    parts = parts[1:]
    if len(parts) >= 2 and parts[0] == "versions":
        version, parts = parts[1], parts[2:]
    if parts == ["metadata"] and action == "status":
        action = "metadata"
    elif parts:
        raise RequestError(f"malformed request path /v1/models/{rest}", 404)
    return name, version, action


class Server:
    """The REST server for one model; `app()` builds the aiohttp application."""

    def __init__(self, model_name: str, model_base_path: str, poll_seconds: float = 1.0,
                 num_threads: Optional[int] = None):
        self.manager = ModelManager(model_name, model_base_path)
        self.poll_seconds = poll_seconds
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=num_threads or max(4, os.cpu_count() or 4),
                                                          thread_name_prefix="nestor-serving")
        self._poll_task: Optional[asyncio.Task] = None

    async def _poll_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await loop.run_in_executor(self.pool, self.manager.poll)
            except Exception:  # never let the poller die
                log.exception("model %s: polling %s failed", self.manager.name, self.manager.base_path)
            await asyncio.sleep(self.poll_seconds)

    async def _startup(self, app: web.Application) -> None:
        await asyncio.get_running_loop().run_in_executor(self.pool, self.manager.poll)
        self._poll_task = asyncio.get_running_loop().create_task(self._poll_loop())

    async def _cleanup(self, app: web.Application) -> None:
        if self._poll_task is not None:
            self._poll_task.cancel()
        self.pool.shutdown(wait=False)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/v1/models/{rest:.+}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        app.on_startup.append(self._startup)
        app.on_cleanup.append(self._cleanup)
        return app

    async def _not_found(self, request: web.Request) -> web.Response:
        return web.json_response({"error": f"Malformed request: {request.method} {request.path}"}, status=404)

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            name, version, action = _parse_path(request.match_info["rest"])
            if name != self.manager.name:
                raise RequestError(f"Servable not found for request: Latest({name}): unknown model '{name}' "
                                   f"(this server serves '{self.manager.name}')", 404)
            if action in ("status", "metadata"):
                if request.method != "GET":
                    raise RequestError(f"{request.method} is not supported here; use GET", 405)
                v, model = self.manager.get(version)
                if action == "metadata":
                    return web.json_response(_metadata(self.manager, v, model))
                return web.json_response({"model_version_status": [
                    {"version": str(v), "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]})
            if action not in ("predict", "classify", "regress"):
                raise RequestError(f"unknown method ':{action}'; use :predict, :classify or :regress", 404)
            if request.method != "POST":
                raise RequestError(f"{request.method} is not supported for :{action}; use POST", 405)
            v, model = self.manager.get(version)
            raw = await request.read()
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as e:
                raise RequestError(f"JSON Parse error: {e}") from None
            loop = asyncio.get_running_loop()
            if action == "predict":
                result = await loop.run_in_executor(self.pool, predict, model, body)
            else:
                result = await loop.run_in_executor(self.pool, classify_or_regress, model, body,
                                                    CLASSIFY if action == "classify" else REGRESS)
            return web.Response(text=json.dumps(result), content_type="application/json")
        except RequestError as e:
            return web.json_response({"error": str(e)}, status=e.status)
        except Exception as e:  # a bug must not take the server down
            log.exception("request %s %s failed", request.method, request.path)
            return web.json_response({"error": f"internal error: {type(e).__name__}: {e}"}, status=500)


class BackgroundServer:
    """Runs a Server on its own event loop thread (tests, notebooks); `port`, `url`, `stop()`."""

    def __init__(self, model_name: str, model_base_path: str, host: str = "127.0.0.1", port: int = 0,
                 poll_seconds: float = 1.0, num_threads: Optional[int] = None):
        self.server = Server(model_name, model_base_path, poll_seconds, num_threads)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        self.url = f"http://{self.host}:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, name="nestor-serving-loop", daemon=True)
        self._thread.start()
        if not self._ready.wait(120):
            raise RuntimeError("serving: the server did not start within 120 s")
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._runner = web.AppRunner(self.server.app(), access_log=None)
        try:
            self._loop.run_until_complete(self._runner.setup())
            self._loop.run_until_complete(web.SockSite(self._runner, self._sock).start())
        except BaseException as e:
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)


def main(argv: Optional[List[str]] = None) -> int:
    """`nestor serve` / `python -m nestor.serving`: TF Serving's model server flags (REST only)."""
    p = argparse.ArgumentParser(prog="nestor serve", description="Serve a nestor export over TF Serving's REST API.")
    p.add_argument("--model_name", default="default", help="name in /v1/models/<name> (default: default)")
    p.add_argument("--model_base_path", required=True, help="directory holding numeric version directories")
    p.add_argument("--rest_api_port", type=int, default=8501, help="HTTP port (default 8501)")
    p.add_argument("--rest_api_host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    p.add_argument("--rest_api_num_threads", type=int, default=0, help="prediction threads (default: cores, >= 4)")
    p.add_argument("--file_system_poll_wait_seconds", type=float, default=1.0,
                   help="seconds between checks for a new version (default 1)")
    args = p.parse_args(argv)
    if args.rest_api_port <= 0:
        p.error("--rest_api_port must be a positive port number")
    if not os.path.isdir(args.model_base_path):
        p.error(f"--model_base_path {args.model_base_path} is not a directory")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    server = Server(args.model_name, os.path.abspath(args.model_base_path),
                    max(0.05, args.file_system_poll_wait_seconds), args.rest_api_num_threads or None)
    log.info("serving model %s from %s on http://%s:%d", args.model_name, args.model_base_path,
             args.rest_api_host, args.rest_api_port)
    web.run_app(server.app(), host=args.rest_api_host, port=args.rest_api_port, access_log=None, print=None)
    return 0
