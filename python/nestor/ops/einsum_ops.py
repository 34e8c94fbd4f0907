"""`tf.einsum` (`tf.linalg.einsum`), composed of nestor's native transpose, reshape, gather,
reduce_sum and (batched) matmul, so its gradient comes from theirs.

Operands are contracted pairwise from left to right: each pair becomes one batched matmul
`[batch, M, K] x [batch, K, N]` after a transpose and a reshape of each side, so no outer
product larger than the result is ever built. TensorFlow 2's signature and semantics (checked
against TF 2.15); the differences are stated in the docstring.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import dtypes as _dtypes
from ..framework.graph import Tensor, convert_to_tensor, name_scope
from . import array_ops, core_ops, math_ops, reduction_ops
from .sparse_ops import gather

__all__ = ["einsum"]
__nn__: list = []

Label = Union[str, int]  # a letter, or the position of a dimension covered by '...'
Dim = Union[int, Tensor]  # a static size, or a scalar int32 tensor known at run time

_SPEC = re.compile(r"^[a-zA-Z]*(\.\.\.)?[a-zA-Z]*$")


def _bad(msg: str) -> ValueError:
    return ValueError(f"einsum: {msg}")


def _split_spec(spec: str, where: str) -> Tuple[List[str], List[str], bool]:
    """Letters before and after the ellipsis of one subscript string, and whether it has one."""
    if not _SPEC.match(spec):
        bad = [c for c in spec.replace("...", "") if not c.isascii() or not c.isalpha()]
        if bad:
            raise _bad(f"invalid character {bad[0]!r} in the subscripts {spec!r} of {where}; subscripts are the "
                       "letters a-z and A-Z and at most one '...'")
        raise _bad(f"the subscripts {spec!r} of {where} may hold at most one '...' (and no other '.')")
    if "..." in spec:
        head, tail = spec.split("...")
        return list(head), list(tail), True
    return list(spec), [], False


def _parse(equation: str, n_inputs: int) -> Tuple[List[Tuple[List[str], List[str], bool]], Optional[str]]:
    if not isinstance(equation, str):
        raise TypeError(f"einsum: equation must be a str, got {type(equation).__name__}")
    eq = equation.replace(" ", "")
    if eq.count("->") > 1:
        raise _bad(f"equation {equation!r} has more than one '->'")
    lhs, out = eq.split("->") if "->" in eq else (eq, None)
    specs = lhs.split(",")
    if len(specs) != n_inputs:
        raise _bad(f"equation {equation!r} has subscripts for {len(specs)} operand(s) but {n_inputs} input(s) were "
                   "given")
    return [_split_spec(s, f"operand {i}") for i, s in enumerate(specs)], out


class _Operand:
    """A tensor with one label per dimension, and its static (None if unknown) sizes."""

    def __init__(self, t: Tensor, labels: List[Label]) -> None:
        self.t = t
        self.labels = labels
        self.static = t.shape.as_list()
        self._shape: Optional[Tensor] = None

    def dim(self, i: int) -> Dim:
        if self.static[i] is not None:
            return int(self.static[i])
        if self._shape is None:
            self._shape = core_ops.shape(self.t)
        return self._shape[i]

    def size(self, label: Label) -> Optional[int]:
        return self.static[self.labels.index(label)]


def _prod(dims: Sequence[Dim]) -> Dim:
    out: Dim = 1
    for d in dims:
        out = out * d if isinstance(out, int) and isinstance(d, int) else math_ops.multiply(out, d)
    return out


def _shape(dims: Sequence[Dim]) -> Any:
    if all(isinstance(d, int) for d in dims):
        return [int(d) for d in dims]
    return array_ops.stack([convert_to_tensor(d, dtype=_dtypes.int32) for d in dims])


def _name(label: Label) -> str:
    return repr(label) if isinstance(label, str) else f"'...' dimension {label}"


def _permute(op: _Operand, labels: List[Label]) -> _Operand:
    perm = [op.labels.index(lb) for lb in labels]
    if perm == list(range(len(perm))):
        return _Operand(op.t, labels)
    return _Operand(array_ops.transpose(op.t, perm), labels)


def _diagonal(op: _Operand, label: str, where: str) -> _Operand:
    """Takes the diagonal over the (two or more) dimensions of `op` labelled `label`."""
    while op.labels.count(label) > 1:
        p = op.labels.index(label)
        q = op.labels.index(label, p + 1)
        n, m = op.static[p], op.static[q]
        if n is None or m is None:
            raise NotImplementedError(f"einsum: the repeated subscript {label!r} of {where} (a trace or diagonal) "
                                      "needs its dimension's size when the graph is built; it is unknown")
        if n != m:
            raise _bad(f"subscript {label!r} repeats in {where} over dimensions of sizes {n} and {m}; a repeated "
                       "subscript (trace / diagonal) needs equal sizes")
        rest = [i for i in range(len(op.labels)) if i not in (p, q)]
        t = array_ops.transpose(op.t, rest + [p, q])
        t = core_ops.reshape(t, _shape([op.dim(i) for i in rest] + [n * n]))
        idx = core_ops.constant(np.arange(n, dtype=np.int32) * (n + 1))
        t = gather(t, idx, axis=len(rest))
        op = _Operand(t, [op.labels[i] for i in rest] + [label])
    return op


def _sum_out(op: _Operand, keep: set) -> _Operand:
    """Sums `op` over the dimensions whose labels are not in `keep`."""
    drop = [i for i, lb in enumerate(op.labels) if lb not in keep]
    if not drop:
        return op
    return _Operand(reduction_ops.reduce_sum(op.t, drop), [lb for lb in op.labels if lb in keep])


def _squeeze(op: _Operand, labels: List[Label]) -> _Operand:
    if not labels:
        return op
    axes = [op.labels.index(lb) for lb in labels]
    return _Operand(array_ops.squeeze(op.t, axes), [lb for lb in op.labels if lb not in labels])


def _contract(a: _Operand, b: _Operand, keep: set) -> _Operand:
    """The product of `a` and `b` summed over their shared labels not in `keep`, as one matmul."""
    # '...' dimensions broadcast: a size-1 dimension facing a larger one is dropped from its side.
    sq_a, sq_b = [], []
    for lb in a.labels:
        if isinstance(lb, int) and lb in b.labels:
            da, db = a.size(lb), b.size(lb)
            if da == 1 and db != 1:
                sq_a.append(lb)
            elif db == 1 and da != 1:
                sq_b.append(lb)
    a, b = _squeeze(a, sq_a), _squeeze(b, sq_b)
    a = _sum_out(a, keep | set(b.labels))
    b = _sum_out(b, keep | set(a.labels))
    batch = [lb for lb in a.labels if lb in b.labels and lb in keep]
    summed = [lb for lb in a.labels if lb in b.labels and lb not in keep]
    a_free = [lb for lb in a.labels if lb not in b.labels]
    b_free = [lb for lb in b.labels if lb not in a.labels]
    a = _permute(a, batch + a_free + summed)
    b = _permute(b, batch + summed + b_free)
    nb, na = len(batch), len(a_free)
    batch_d = [a.dim(i) for i in range(nb)]
    a_d = [a.dim(nb + i) for i in range(na)]
    k_d = [a.dim(nb + na + i) for i in range(len(summed))]
    b_d = [b.dim(nb + len(summed) + i) for i in range(len(b_free))]
    lead = [_prod(batch_d)] if batch else []
    m, k, n = _prod(a_d), _prod(k_d), _prod(b_d)
    ta = core_ops.reshape(a.t, _shape(lead + [m, k]))
    tb = core_ops.reshape(b.t, _shape(lead + [k, n]))
    y = math_ops.matmul(ta, tb)
    y = core_ops.reshape(y, _shape(batch_d + a_d + b_d))
    return _Operand(y, batch + a_free + b_free)


def _check_sizes(ops: List[_Operand]) -> None:
    seen: Dict[Label, Tuple[int, int]] = {}
    for i, op in enumerate(ops):
        for lb, d in zip(op.labels, op.static):
            if d is None:
                continue
            if lb in seen and seen[lb][0] != d:
                if isinstance(lb, int) and 1 in (d, seen[lb][0]):
                    if d != 1:
                        seen[lb] = (d, i)
                    continue
                what = "cannot be broadcast" if isinstance(lb, int) else "must be equal"
                raise _bad(f"subscript {_name(lb)} has size {seen[lb][0]} in operand {seen[lb][1]} but size {d} in "
                           f"operand {i} (the sizes {what})")
            if lb not in seen or seen[lb][0] == 1:
                seen[lb] = (d, i)


def einsum(equation: str, *inputs: Any, **kwargs: Any) -> Tensor:
    """Tensor contraction over the subscripts of an Einstein summation `equation` (`tf.einsum`).

    `equation` names each dimension of each input with a letter, e.g. `'ij,jk->ik'` (a matrix
    product); letters missing from the output are summed over. Without `'->'` the output holds
    the letters appearing exactly once, in alphabetical order (implicit mode, as NumPy).
    `'...'` stands for the leading dimensions not named by letters; they broadcast against each
    other with NumPy rules and come first in an implicit output. A letter repeated within one
    input takes the diagonal over those dimensions (`'ii->i'`, `'ii->'` the trace; their sizes
    must be known when the graph is built).

    Examples: `'ij,jk->ik'` matmul, `'bij,bjk->bik'` batched matmul, `'...ij,...jk'` broadcast
    batched matmul, `'ij->ji'` transpose, `'ij->'` sum, `'i,j->ij'` outer product, `'i,i->'`
    dot product, `'bi,bi->b'` row-wise dot products.

    Args:
      equation: a str of subscripts, e.g. `'ij,jk->ik'`.
      *inputs: the input tensors, one per comma-separated group of subscripts, of one dtype.
      **kwargs: `name`, a name scope for the operations (optional); `optimize`, accepted for
        TensorFlow's signature and ignored (the operands are contracted from left to right).

    Returns:
      A tensor of the inputs' dtype with the output subscripts' dimensions.

    Raises:
      ValueError: a malformed equation, a number of inputs other than the equation's, an input
        whose rank does not match its subscripts, a letter naming dimensions of different sizes
        (only '...' dimensions broadcast), an output letter that is no input's or appears twice,
        or '...' dimensions left out of an explicit output (TensorFlow fails on these too).
      TypeError: unknown keyword arguments, or an input of unknown rank.
      NotImplementedError: a repeated subscript within one input over dimensions of unknown size.
    """
    unknown = set(kwargs) - {"name", "optimize"}
    if unknown:
        raise TypeError(f"einsum: invalid keyword arguments: {sorted(unknown)} (accepted: name, optimize)")
    specs, out = _parse(equation, len(inputs))
    with name_scope(kwargs.get("name"), "einsum"):
        ts = [convert_to_tensor(x, name=f"input_{i}") for i, x in enumerate(inputs)]
        ops: List[_Operand] = []
        n_ell = 0
        for i, (t, (head, tail, ell)) in enumerate(zip(ts, specs)):
            r = t.shape.rank
            if r is None:
                raise TypeError(f"einsum: operand {i} has unknown rank; einsum needs every input's rank when the graph "
                                "is built")
            named = len(head) + len(tail)
            if (r != named and not ell) or r < named:
                raise _bad(f"operand {i} has rank {r} (shape {t.shape}) but its subscripts "
                           f"{''.join(head) + ('...' if ell else '') + ''.join(tail)!r} name "
                           f"{'at least ' if ell else ''}{named} dimension(s)")
            n_ell = max(n_ell, r - named)
        for t, (head, tail, ell) in zip(ts, specs):
            e = t.shape.rank - len(head) - len(tail)
            ops.append(_Operand(t, head + list(range(n_ell - e, n_ell)) + tail))
        letters = [lb for op in ops for lb in op.labels if isinstance(lb, str)]
        if out is None:
            out_labels: List[Label] = list(range(n_ell)) + sorted(c for c in set(letters) if letters.count(c) == 1)
        else:
            head, tail, ell = _split_spec(out, "the output")
            for c in set(head + tail):
                if (head + tail).count(c) > 1:
                    raise _bad(f"output subscript {c!r} appears more than once in {out!r}")
                if c not in letters:
                    raise _bad(f"output subscript {c!r} appears in no input's subscripts")
            if n_ell and not ell:
                raise _bad(f"the inputs have {n_ell} '...' dimension(s) but the output subscripts {out!r} have no "
                           "'...' to hold them")
            out_labels = head + list(range(n_ell)) + tail
        for i, op in enumerate(ops):
            for c in sorted(set(lb for lb in op.labels if op.labels.count(lb) > 1), key=str):
                ops[i] = op = _diagonal(op, c, f"operand {i}")
        _check_sizes(ops)
        keep = set(out_labels)
        ops = [_sum_out(op, keep.union(*[set(o.labels) for j, o in enumerate(ops) if j != i]))
               for i, op in enumerate(ops)]
        acc = ops[0]
        for i in range(1, len(ops)):
            later = keep.union(*[set(o.labels) for o in ops[i + 1:]])
            acc = _contract(acc, ops[i], later)
        # '...' dimensions of size 1 in every input are in acc; labels only summed ones are gone.
        acc = _sum_out(acc, keep)
        return array_ops.transpose(acc.t, [acc.labels.index(lb) for lb in out_labels]) \
            if acc.labels != out_labels else core_ops.identity(acc.t)
