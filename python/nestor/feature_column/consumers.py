"""Consumers of feature columns: `input_layer`, `DenseFeatures` and `linear_model`."""
from __future__ import annotations

import functools
from typing import Any, Dict, List, Optional, Sequence

from ..framework import graph as _g
from ..framework import variables as _vars
from ..framework.graph import GraphKeys, Tensor
from ..initializers import zeros_initializer
from ..ops import array_ops, core_ops, math_ops
from .columns import CategoricalColumn, DenseColumn, FeatureColumn, _Builder, prune
from .dense import embedding_lookup

_COMBINERS = ("mean", "sqrtn", "sum")


def _normalize(feature_columns: Any) -> List[FeatureColumn]:
    if isinstance(feature_columns, FeatureColumn):
        feature_columns = [feature_columns]
    cols = list(feature_columns or [])
    if not cols:
        raise ValueError("Expected feature_columns to be iterable, found an empty list.")
    for c in cols:
        if not isinstance(c, FeatureColumn):
            raise ValueError(f"Items of feature_columns must be a FeatureColumn. Given (type {type(c).__name__}): "
                             f"{c}.")
    names = [c.name for c in cols]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"Duplicate feature column name found for columns: {dup}. This usually means that these "
                         f"columns refer to the same base feature.")
    return sorted(cols, key=lambda c: c.name)


def _dense_outputs(builder: _Builder, cols: List[FeatureColumn], cols_to_vars: Optional[Dict[Any, Any]],
                   cols_to_output_tensors: Optional[Dict[Any, Any]],
                   scope_names: Optional[Dict[Any, str]] = None, reuse: bool = False) -> Tensor:
    """The concatenated dense outputs; `scope_names` records (or, with `reuse`, gives) each
    column's variable scope name relative to the current scope."""
    for c in cols:
        if not isinstance(c, DenseColumn):
            raise ValueError(f"Items of feature_columns must be a DenseColumn. You can wrap a categorical column "
                             f"with an embedding_column or indicator_column. Given: {c}")
    outs = []
    for c in cols:
        named = (scope_names[c], None) if reuse and scope_names else (None, c._var_scope_name)
        with _vars.variable_scope(named[0], default_name=named[1]) as scope:
            if scope_names is not None and not reuse:
                scope_names[c] = scope.name.rsplit("/", 1)[-1]
            t = c._dense(builder)
            n = c.variable_shape.num_elements()
            t = core_ops.reshape(t, [-1, n])
            if cols_to_vars is not None:
                cols_to_vars[c] = _g.get_collection(GraphKeys.GLOBAL_VARIABLES, scope=scope.name + "/")
        if cols_to_output_tensors is not None:
            cols_to_output_tensors[c] = t
        outs.append(t)
    return outs[0] if len(outs) == 1 else array_ops.concat(outs, axis=1)


def input_layer(features: Dict[str, Any], feature_columns: Sequence[Any], weight_collections: Any = None,
                trainable: bool = True, cols_to_vars: Optional[Dict[Any, Any]] = None,
                cols_to_output_tensors: Optional[Dict[Any, Any]] = None) -> Tensor:
    """The dense columns' values, sorted by column name and concatenated to `[batch, sum(dims)]`
    (`tf.compat.v1.feature_column.input_layer`).

    Variables are created under `input_layer/<column scope>/` (e.g. `<cat>_embedding/embedding_weights`),
    added to `weight_collections` and trainable when `trainable` (and the column's own flag) is true.

    Raises:
      ValueError: no columns, a non-dense column, a missing feature or a feature of the wrong type.
    """
    cols = _normalize(feature_columns)
    builder = _Builder(features, trainable, weight_collections)
    with _vars.variable_scope(None, default_name="input_layer"):
        return _dense_outputs(builder, cols, cols_to_vars, cols_to_output_tensors)


class DenseFeatures:
    """A callable producing the dense input from a features dict (`tf.keras.layers.DenseFeatures`).

    Variables are created on the first call under `<name>/` and reused by later calls.
    """

    def __init__(self, feature_columns: Sequence[Any], trainable: bool = True, name: Optional[str] = None,
                 **kwargs: Any):
        self._columns = _normalize(feature_columns)
        for c in self._columns:
            if not isinstance(c, DenseColumn):
                raise ValueError(f"Items of feature_columns must be a DenseColumn. You can wrap a categorical "
                                 f"column with an embedding_column or indicator_column. Given: {c}")
        self.trainable = bool(trainable)
        self._name = name
        self._scope: Any = None
        self._vars: Dict[Any, Any] = {}
        self._scope_names: Dict[Any, str] = {}

    @property
    def name(self) -> str:
        return self._scope.name if self._scope is not None else (self._name or "dense_features")

    @property
    def variables(self) -> List[Any]:
        return [v for c in self._columns for v in self._vars.get(c, [])]

    @property
    def trainable_variables(self) -> List[Any]:
        return [v for v in self.variables if v.trainable] if self.trainable else []

    def compute_output_shape(self, input_shape: Any) -> List[Any]:
        return [None, sum(c.variable_shape.num_elements() for c in self._columns)]

    def __call__(self, features: Dict[str, Any], cols_to_output_tensors: Optional[Dict[Any, Any]] = None,
                 training: Any = None) -> Tensor:
        builder = _Builder(features, self.trainable)
        if self._scope is None:
            with _vars.variable_scope(None, default_name=self._name or "dense_features") as scope:
                self._scope = scope
                return _dense_outputs(builder, self._columns, self._vars, cols_to_output_tensors,
                                      self._scope_names)
        with _vars.variable_scope(self._scope, reuse=True):
            return _dense_outputs(builder, self._columns, None, cols_to_output_tensors, self._scope_names,
                                  reuse=True)


def linear_model(features: Dict[str, Any], feature_columns: Sequence[Any], units: int = 1,
                 sparse_combiner: str = "sum", weight_collections: Any = None, trainable: bool = True,
                 cols_to_vars: Optional[Dict[Any, Any]] = None) -> Tensor:
    """A linear prediction `[batch, units]` from the columns (`tf.compat.v1.feature_column.linear_model`).

    Each column gets zero-initialized weights `linear_model/<column name>/weights`:
    `[num_buckets, units]` for categorical columns (a weighted sparse lookup combined by
    `sparse_combiner`: 'sum', 'mean' or 'sqrtn') or `[dims, units]` for dense columns (a
    matmul); the sum over columns plus `linear_model/bias_weights` is returned. `cols_to_vars`
    receives each column's variables and 'bias'.

    Raises:
      ValueError: no columns, a bad sparse_combiner, a missing feature or a wrong type.
    """
    if sparse_combiner not in _COMBINERS:
        raise ValueError(f"sparse_combiner must be one of {list(_COMBINERS)}, got {sparse_combiner!r}")
    cols = _normalize(feature_columns)
    for c in cols:
        if not isinstance(c, (DenseColumn, CategoricalColumn)):
            raise ValueError(f"Items of feature_columns must be either a DenseColumn or CategoricalColumn. "
                             f"Given: {c}")
    units = int(units)
    builder = _Builder(features, trainable, weight_collections)
    with _vars.variable_scope(None, default_name="linear_model"):
        preds = []
        for c in cols:
            with _vars.variable_scope(None, default_name=c._var_scope_name):
                if isinstance(c, CategoricalColumn):
                    w = builder.get_variable("weights", [c.num_buckets, units], zeros_initializer(), True)
                    ids, weights = prune(*c._ids(builder))
                    p = embedding_lookup(w, ids, weights, sparse_combiner, None)
                else:
                    n = c.variable_shape.num_elements()
                    w = builder.get_variable("weights", [n, units], zeros_initializer(), True)
                    x = c._dense(builder)
                    x = core_ops.reshape(x, [-1, n])
                    p = math_ops.matmul(x, w)
                preds.append(p)
                if cols_to_vars is not None:
                    cols_to_vars[c] = [w]
        bias = builder.get_variable("bias_weights", [units], zeros_initializer(), True)
        if cols_to_vars is not None:
            cols_to_vars["bias"] = [bias]
        total = functools.reduce(math_ops.add, preds)
        return math_ops.add(total, bias, name="weighted_sum")
