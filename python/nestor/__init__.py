"""nestor: tf.estimator's programming model on a small, fast native runtime.

Use it as TensorFlow 1: `import nestor as tf`.
"""
from __future__ import annotations

try:  # the BLAS library the native module links (found by rpath; importing it also preloads it)
    import scipy_openblas32 as _blas  # noqa: F401
except ImportError:  # pragma: no cover - the wheel depends on it
    pass
from . import _native  # noqa: F401,E402  (the native runtime)
from . import errors
from .dtypes import (DType, as_dtype, bool, double, float32, float64, int32, int64,  # noqa: A004
                     string)
from .framework.graph import (Dimension, Graph, GraphKeys, IndexedSlices, Operation, Tensor, TensorShape,
                              add_to_collection, add_to_collections, control_dependencies, convert_to_tensor,
                              device, get_collection, get_collection_ref, get_default_graph, name_scope,
                              reset_default_graph, set_random_seed)
from .framework.gradients import gradients
from .framework.session import ConfigProto, InteractiveSession, Session, get_default_session
from .framework.variables import (AUTO_REUSE, Variable, VariableScope, get_variable, get_variable_scope,
                                  global_variables, global_variables_initializer, initialize_all_variables,
                                  local_variables, local_variables_initializer, model_variables,
                                  report_uninitialized_variables, trainable_variables, variable_scope,
                                  variables_initializer)
from .ops.core_ops import *  # noqa: F401,F403
from .ops.math_ops import *  # noqa: F401,F403
from .ops.activation_ops import *  # noqa: F401,F403
from .ops.reduction_ops import *  # noqa: F401,F403
from .ops.nn_ops import *  # noqa: F401,F403
from .ops.array_ops import *  # noqa: F401,F403
from .ops.sparse_ops import *  # noqa: F401,F403
from .ops.random_ops import *  # noqa: F401,F403
from .ops.clip_ops import *  # noqa: F401,F403
from .ops.state_ops import *  # noqa: F401,F403
from .ops.feature_ops import *  # noqa: F401,F403
from .ops.check_ops import *  # noqa: F401,F403
from .ops.scan_ops import *  # noqa: F401,F403
from .ops.nd_ops import *  # noqa: F401,F403
from .ops.composite_array_ops import *  # noqa: F401,F403
from .ops.composite_math_ops import *  # noqa: F401,F403
from .ops.composite_math_ops import confusion_matrix_v1 as confusion_matrix  # noqa: F401
from .ops.einsum_ops import *  # noqa: F401,F403
from .ops.sort_ops import *  # noqa: F401,F403
from .ops.histogram_ops import *  # noqa: F401,F403
from .ops.composite_extra_ops import *  # noqa: F401,F403
from .ops.control_flow_ops import *  # noqa: F401,F403
from .ops.script_ops import numpy_function, py_func, py_function  # noqa: F401
from . import math, nn, train  # noqa: E402
from . import linalg  # noqa: E402
from . import data, summary  # noqa: E402
from . import metrics  # noqa: E402
from . import layers, losses  # noqa: E402
from . import logging  # noqa: E402
from . import estimator  # noqa: E402
from . import saved_model  # noqa: E402
from . import feature_column  # noqa: E402
from . import debugging, io, python_io, strings  # noqa: E402
from . import image  # noqa: E402
from . import config, sysconfig  # noqa: E402
from . import app, compat  # noqa: E402
from . import experimental  # noqa: E402
from .ops.csv_ops import decode_csv  # noqa: E402,F401
# TF1's top-level spellings of the tf.io parsing names.
from .io import FixedLenFeature, VarLenFeature, parse_example, parse_single_example  # noqa: E402,F401
from .summary import Summary  # noqa: E402
from . import initializers  # noqa: E402
from .initializers import (constant_initializer, glorot_normal_initializer, glorot_uniform_initializer,  # noqa: E402
                           ones_initializer, random_normal_initializer, random_uniform_initializer,
                           truncated_normal_initializer, variance_scaling_initializer, zeros_initializer)
from .checkpoint import latest_checkpoint  # noqa: E402
from .ops.core_ops import tuple_ as tuple  # noqa: A001,F401

newaxis = None

__version__ = "0.1.0"
