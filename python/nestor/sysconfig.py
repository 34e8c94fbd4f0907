"""Where the C/C++ runtime of this installation lives (`tf.sysconfig`).

A C++ service links the same runtime the Python package uses::

    cmake -S service -B build -DCMAKE_PREFIX_PATH="$(python -c 'import nestor; print(nestor.sysconfig.get_cmake_dir())')"

and in its CMakeLists.txt ``find_package(nestor REQUIRED)`` and
``target_link_libraries(service PRIVATE nestor::runtime)``.
"""
from __future__ import annotations

import os
from typing import List

__all__ = ["get_include", "get_lib", "get_cmake_dir", "get_compile_flags", "get_link_flags"]

_HERE = os.path.dirname(os.path.abspath(__file__))


def _installed(path: str) -> str:
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{path} does not exist: this nestor is a development tree, not an installed wheel. "
            "Build the runtime with CMake and point find_package at that build directory instead.")
    return path


def get_include() -> str:
    """The directory holding the public headers (`nestor/c_api.h`, `nestor/predictor.hpp`, ...)."""
    return _installed(os.path.join(_HERE, "include"))


def get_lib() -> str:
    """The directory holding libnestor.so."""
    return _installed(os.path.join(_HERE, "lib"))


def get_cmake_dir() -> str:
    """The directory holding nestorConfig.cmake, for `find_package(nestor)`."""
    return _installed(os.path.join(_HERE, "lib", "cmake", "nestor"))


def get_compile_flags() -> List[str]:
    """Compiler flags for building against the runtime without CMake."""
    return [f"-I{get_include()}", "-std=c++17"]


def get_link_flags() -> List[str]:
    """Linker flags for linking libnestor.so without CMake."""
    return [f"-L{get_lib()}", "-lnestor", f"-Wl,-rpath,{get_lib()}"]
