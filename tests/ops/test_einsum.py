"""tf.einsum (a composition of transpose / reshape / gather / reduce_sum / batched matmul):
forward against np.einsum in float64, gradients against finite differences, run-time sizes,
and the errors for bad equations."""
import numpy as np
import pytest

import nestor as tf
from harness import available_devices, check_op, rand

DEVICES = available_devices()

CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),  # implicit output
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("bij,bkj->bik", [(2, 2, 3), (2, 4, 3)]),
    ("...ij,...jk", [(2, 1, 2, 3), (4, 3, 5)]),  # '...' broadcasting (1 vs 4, missing vs 2)
    ("...ij,...jk->...ik", [(3, 2, 3), (3, 3, 2)]),
    ("ij->ji", [(2, 3)]),
    ("ba", [(2, 3)]),  # implicit: alphabetical -> transpose
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("i,j->ij", [(2,), (3,)]),
    ("i,i->", [(3,), (3,)]),
    ("i,i", [(3,), (3,)]),
    ("bi,bi->b", [(4, 3), (4, 3)]),
    ("bij,bi->bj", [(2, 3, 4), (2, 3)]),
    ("ijk,jil->kl", [(2, 3, 4), (3, 2, 5)]),
    ("abc,cd,de->ae", [(2, 3, 4), (4, 5), (5, 2)]),
    ("ab,bc,cd", [(2, 3), (3, 4), (4, 2)]),
    ("ij,kl->ijkl", [(2, 2), (2, 3)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]),
    ("ijk->kij", [(2, 3, 4)]),
    ("...i,...i->...", [(2, 3), (3,)]),
    ("i...,i->...", [(2, 3, 4), (2,)]),
    ("Ab,bC->AC", [(2, 3), (3, 2)]),
    ("ii->i", [(3, 3)]),  # diagonal
    ("ii", [(3, 3)]),  # trace
    ("iij->j", [(3, 3, 2)]),
    ("aab,bc->ac", [(2, 2, 3), (3, 4)]),
    ("iii->i", [(2, 2, 2)]),
    ("ij,j,jk->ik", [(2, 3), (3,), (3, 2)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),  # attention scores
    ("ij->ij", [(2, 3)]),
    ("...->...", [(2, 3)]),
    (" i j , j k -> i k ", [(2, 3), (3, 4)]),  # spaces are ignored
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("equation,shapes", CASES, ids=[c[0].replace(" ", "_") for c in CASES])
def test_einsum_matches_numpy_and_finite_differences(device, equation, shapes):
    xs = [rand(*s, seed=i) for i, s in enumerate(shapes)]
    check_op(lambda *ts: tf.einsum(equation, *ts), xs, lambda *a: np.einsum(equation, *a), device=device)


def test_einsum_float32_and_int32():
    a, b = rand(3, 4, seed=1), rand(4, 2, seed=2)
    check_op(lambda x, y: tf.einsum("ij,jk->ik", x, y), [a.astype(np.float32), b.astype(np.float32)],
             lambda x, y: np.einsum("ij,jk->ik", x.astype(np.float64), y.astype(np.float64)), grad=False,
             rtol=1e-5, atol=1e-5)
    ai, bi = np.arange(12, dtype=np.int32).reshape(3, 4), np.arange(8, dtype=np.int32).reshape(4, 2) - 3
    check_op(lambda x, y: tf.einsum("ij,jk->ik", x, y), [ai, bi], lambda x, y: np.einsum("ij,jk->ik", x, y),
             grad=False)


def test_einsum_unknown_sizes_at_graph_time():
    a, b = rand(5, 3, 4, seed=3), rand(4, 2, seed=4)
    with tf.Graph().as_default() as g:
        pa = tf.placeholder(tf.float64, [None, None, 4])
        pb = tf.placeholder(tf.float64, [4, None])
        y = tf.einsum("bij,jk->bik", pa, pb)
        z = tf.einsum("bij->jb", pa)
        w = tf.einsum("...j,jk->...k", pa, pb)
        assert y.shape.rank == 3 and y.shape.as_list()[0] is None
        with tf.Session(graph=g) as s:
            gy, gz, gw = s.run([y, z, w], {pa: a, pb: b})
    np.testing.assert_allclose(gy, np.einsum("bij,jk->bik", a, b), rtol=1e-12)
    np.testing.assert_allclose(gz, np.einsum("bij->jb", a), rtol=1e-12)
    np.testing.assert_allclose(gw, np.einsum("...j,jk->...k", a, b), rtol=1e-12)


def test_einsum_static_shape_and_linalg_alias():
    with tf.Graph().as_default():
        y = tf.linalg.einsum("bij,bjk->bik", tf.zeros([2, 3, 4]), tf.zeros([2, 4, 5]), name="e")
        assert y.shape.as_list() == [2, 3, 5] and y.dtype == tf.float32
        z = tf.einsum("...ij,...jk", tf.zeros([2, 1, 3, 4]), tf.zeros([6, 4, 5]))
        assert z.shape.as_list() == [2, 6, 3, 5]
    assert tf.linalg.einsum is tf.einsum


def test_einsum_contracts_with_matmul_not_outer_products():
    with tf.Graph().as_default() as g:
        tf.einsum("bij,bjk->bik", tf.zeros([8, 30, 40]), tf.zeros([8, 40, 50]))
        ops = g.get_operations()
        assert any(op.type == "matmul" for op in ops)
        biggest = max(int(np.prod(t.shape.as_list())) for op in ops for t in op.outputs if t.shape.rank is not None)
        assert biggest <= 8 * 40 * 50  # never the 8 x 30 x 40 x 50 product


@pytest.mark.parametrize("equation,shapes,match", [
    ("ij,jk->ik", [(2, 3)], r"subscripts for 2 operand\(s\) but 1 input"),
    ("ij", [(2, 3), (3, 2)], r"subscripts for 1 operand\(s\) but 2 input"),
    ("i1,jk", [(2, 3), (3, 2)], r"invalid character '1' in the subscripts 'i1' of operand 0"),
    ("ij,j.k", [(2, 3), (3, 2)], r"invalid character '\.' in the subscripts 'j\.k' of operand 1"),
    ("...i...,j", [(2, 3), (3,)], r"operand 0 may hold at most one"),
    ("ij->i->j", [(2, 3)], r"more than one '->'"),
    ("ijk,jk", [(2, 3), (3, 2)], r"operand 0 has rank 2 .* subscripts 'ijk' name 3 dimension"),
    ("ijk...,j", [(2, 3), (3,)], r"operand 0 has rank 2 .* name at least 3 dimension"),
    ("ij,jk", [(2, 3), (4, 2)], r"subscript 'j' has size 3 in operand 0 but size 4 in operand 1 .*must be equal"),
    ("ij,ij->i", [(2, 1), (2, 3)], r"subscript 'j' has size 1 in operand 0 but size 3 in operand 1"),
    ("...i,...i", [(2, 3), (4, 3)], r"'...' dimension 0 has size 2 in operand 0 but size 4 in operand 1 .*broadcast"),
    ("ij->iz", [(2, 3)], r"output subscript 'z' appears in no input"),
    ("i->ii", [(3,)], r"output subscript 'i' appears more than once"),
    ("...i->i", [(2, 3)], r"1 '...' dimension\(s\) but the output subscripts 'i' have no '...'"),
    ("ij->i!", [(2, 3)], r"invalid character '!' in the subscripts 'i!' of the output"),
    ("ii->i", [(2, 3)], r"subscript 'i' repeats in operand 0 over dimensions of sizes 2 and 3"),
])
def test_einsum_bad_equations(equation, shapes, match):
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match=match):
            tf.einsum(equation, *[tf.zeros(s) for s in shapes])


def test_einsum_other_errors():
    with tf.Graph().as_default():
        x = tf.zeros([2, 2])
        with pytest.raises(TypeError, match=r"invalid keyword arguments: \['foo'\]"):
            tf.einsum("ij->ji", x, foo=1)
        with pytest.raises(TypeError, match="equation must be a str"):
            tf.einsum(3, x)
        with pytest.raises(TypeError, match="operand 0 has unknown rank"):
            tf.einsum("ij->ji", tf.placeholder(tf.float32))
        with pytest.raises(NotImplementedError, match="repeated subscript 'i' of operand 0"):
            tf.einsum("ii->i", tf.placeholder(tf.float32, [None, None]))
        tf.einsum("ij->ji", x, optimize="greedy", name="ok")  # accepted and ignored
