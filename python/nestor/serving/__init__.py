"""Serving nestor exports over TensorFlow Serving's REST API (`nestor serve`, `python -m nestor.serving`).

    nestor serve --model_name wd --model_base_path /models/wd --rest_api_port 8501
    curl -d '{"instances": [{"age": 30.0, "color": "red"}]}' localhost:8501/v1/models/wd:predict

Needs the `serving` extra (aiohttp).
"""
from .server import BackgroundServer, ModelManager, RequestError, Server, main, serialize_example

__all__ = ["BackgroundServer", "ModelManager", "RequestError", "Server", "main", "serialize_example"]
