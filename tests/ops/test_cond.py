"""tf.cond and tf.case without control flow ops: a Python-bool / constant predicate calls one
branch only; a run-time predicate runs both and selects with where. Values on both predicate
values, nested structures, gradients against finite differences, where's exact-zero gradient
for the unselected branch, and errors."""
import collections

import numpy as np
import pytest

import nestor as tf
from harness import available_devices, check_op, rand
from nestor.ops.control_flow_ops import CondStructureError

DEVICES = available_devices()
NT = collections.namedtuple("NT", "a b")


def run(t, feed=None):
    g = tf.get_default_graph()
    with tf.Session(graph=g) as s:
        return s.run(t, feed)


class Recorder:
    """Branch functions that count their calls."""

    def __init__(self):
        self.calls = []

    def fn(self, tag, value):
        def f():
            self.calls.append(tag)
            return value() if callable(value) else value
        return f


# ---------------------------------------------------------------- constant predicates: one branch only
@pytest.mark.parametrize("pred", [True, False, np.bool_(True), np.bool_(False), "const_true", "const_false"])
def test_constant_pred_calls_only_the_chosen_branch(pred):
    with tf.Graph().as_default():
        if isinstance(pred, str):
            want = pred == "const_true"
            pred = tf.constant(want)
        else:
            want = bool(pred)
        rec = Recorder()
        out = tf.cond(pred, rec.fn("t", lambda: tf.constant(1.0)), rec.fn("f", lambda: tf.constant(2.0)))
        assert rec.calls == (["t"] if want else ["f"])
        assert run(out) == (1.0 if want else 2.0)


def test_constant_pred_returns_the_branch_result_as_is():
    with tf.Graph().as_default():
        never = Recorder()
        assert tf.cond(True, lambda: [7], never.fn("f", None)) == 7                 # singleton unpacked (TF1)
        assert tf.cond(True, lambda: [7], never.fn("f", None), strict=True) == [7]
        assert tf.cond(False, fn2=lambda: {"k": 1}, fn1=never.fn("t", None)) == {"k": 1}
        assert never.calls == []


# ---------------------------------------------------------------- run-time predicates: both run, where selects
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("p", [True, False])
def test_tensor_pred_value_and_gradient(device, p):
    x, y = rand(3, 2, seed=1), rand(3, 2, seed=2)

    def fn(pred, a, b):
        return tf.cond(pred, lambda: tf.sin(a) * b, lambda: a * a - 3.0 * b)

    def ref(pred, a, b):
        return np.sin(a) * b if pred else a * a - 3.0 * b

    check_op(fn, [np.array(p), x, y], ref, device=device)


@pytest.mark.parametrize("p", [True, False])
def test_tensor_pred_nested_structures_and_mixed_leaves(p):
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, [])
        rec = Recorder()
        t = {"x": [1.0, NT(tf.constant([1, 2]), tf.constant(True))], "a": (tf.constant(3.0, tf.float64),)}
        f = {"x": [4.0, NT(tf.constant([5, 6]), tf.constant(False))], "a": (6.0,)}
        out = tf.cond(pred, rec.fn("t", t), rec.fn("f", f))
        assert rec.calls == ["t", "f"]  # both built, each exactly once
        assert isinstance(out, dict) and list(out) == ["x", "a"] and isinstance(out["x"][1], NT)
        assert isinstance(out["a"], tuple) and out["a"][0].dtype == tf.float64  # the Python 6.0 took float64
        got = run(out, {pred: p})
    assert got["x"][0] == (1.0 if p else 4.0)
    np.testing.assert_array_equal(got["x"][1].a, [1, 2] if p else [5, 6])
    assert got["x"][1].b == p and got["a"][0] == (3.0 if p else 6.0)


def test_tensor_pred_singleton_unpacking_strict_and_positional_name():
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, [])
        loose = tf.cond(pred, lambda: [tf.constant(1.0)], lambda: [tf.constant(2.0)])
        strict = tf.cond(pred, lambda: (tf.constant(1.0),), lambda: (tf.constant(2.0),), strict=True)
        named = tf.cond(pred, lambda: 1.0, lambda: 2.0, "picked")  # TF2's positional (pred, t, f, name)
        assert isinstance(loose, tf.Tensor) and isinstance(strict, tuple) and len(strict) == 1
        assert named.name.startswith("picked/")
        assert run([loose, strict[0], named], {pred: False}) == [2.0, 2.0, 2.0]


def test_tensor_pred_of_unknown_rank_and_run_time_shapes():
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool)  # unknown rank: made a scalar at run time
        a = tf.placeholder(tf.float32, [None])
        b = tf.placeholder(tf.float32, [None])
        out = tf.cond(pred, lambda: a, lambda: b * 2.0)
        np.testing.assert_array_equal(run(out, {pred: False, a: [1, 2], b: [3, 4]}), [6, 8])
        with pytest.raises(tf.errors.InvalidArgumentError, match="must have the same shape"):
            run(out, {pred: True, a: [1, 2], b: [3]})
        with pytest.raises(tf.errors.InvalidArgumentError):
            run(out, {pred: [True, False], a: [1, 2], b: [3, 4]})


def test_operations_of_both_branches_are_grouped():
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, [])
        op = tf.cond(pred, lambda: tf.no_op(name="a"), lambda: tf.no_op(name="b"))
        assert isinstance(op, tf.Operation)
        assert {c.name for c in op.control_inputs} == {"cond/a", "cond/b"}


# ---------------------------------------------------------------- gradients through where
def test_unselected_branch_gets_exactly_zero_gradient_even_from_inf_and_nan():
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, [])
        a, b = tf.placeholder(tf.float64, [3]), tf.placeholder(tf.float64, [3])
        out = tf.cond(pred, lambda: a * 1.0, lambda: b * 1.0)
        ga, gb = tf.gradients(out, [a, b], grad_ys=tf.constant([np.inf, np.nan, 2.0], tf.float64))
        got_a, got_b = run([ga, gb], {pred: True, a: [1, 2, 3], b: [4, 5, 6]})
    np.testing.assert_array_equal(got_a, [np.inf, np.nan, 2.0])
    np.testing.assert_array_equal(got_b, [0.0, 0.0, 0.0])
    assert not np.signbit(got_b).any()


def test_unselected_nan_value_is_masked_but_its_local_derivative_leaks_nan():
    # As documented in tf.cond: where masks the unselected value, but 0 * inf inside that branch
    # (sqrt at x < 0) still poisons the gradient; guarding the branch's input avoids it.
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, [2])
        pos = tf.reduce_all(x > 0)
        naive = tf.cond(pos, lambda: tf.sqrt(x), lambda: 2.0 * x)
        safe_x = tf.where(x > 0, x, tf.ones_like(x))
        guarded = tf.cond(pos, lambda: tf.sqrt(safe_x), lambda: 2.0 * x)
        g_naive = tf.gradients(naive, x)[0]
        g_guarded = tf.gradients(guarded, x)[0]
        got = run([naive, g_naive, guarded, g_guarded], {x: [-1.0, 4.0]})
    np.testing.assert_array_equal(got[0], [-2.0, 8.0])
    assert np.isnan(got[1][0]) and got[1][1] == 2.0
    np.testing.assert_array_equal(got[2], [-2.0, 8.0])
    np.testing.assert_array_equal(got[3], [2.0, 2.0])


# ---------------------------------------------------------------- errors
def test_structure_and_dtype_mismatches_raise_tf_errors():
    cases = [
        (lambda: (1.0, 2.0), lambda: [1.0, 2.0], "tuple of 2 elements vs list of 2 elements"),
        (lambda: {"a": 1.0}, lambda: {"b": 1.0}, r"different keys: \['a'\] vs \['b'\]"),
        (lambda: (1.0, 2.0), lambda: (1.0,), "tuple of 2 elements vs float"),
        (lambda: [1.0, [2.0]], lambda: [1.0, 2.0], r"at \[1\]: list of 1 elements vs float"),
        (lambda: NT(1.0, 2.0), lambda: (1.0, 2.0), "NT of 2 elements vs tuple"),
        (lambda: tf.constant(1.0), lambda: tf.constant(1), "must have the same type.*float32 from 'true_fn' and "
                                                            "int32 from 'false_fn'"),
        (lambda: tf.no_op(), lambda: tf.constant(1.0), "an Operation from one branch and a value"),
    ]
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, [])
        for t, f, detail in cases:
            for exc in (TypeError, ValueError):  # TF2 raises TypeError, TF1 ValueError: both match
                with pytest.raises(exc, match="true_fn and false_fn arguments to tf.cond must have the same number, "
                                              "type, and overall structure"):
                    tf.cond(pred, t, f)
            with pytest.raises(CondStructureError, match=detail):
                tf.cond(pred, t, f)


def test_cond_argument_errors():
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, [])
        one = lambda: 1.0  # noqa: E731
        for kwargs, msg in [({"true_fn": one}, "'false_fn' argument required"),
                            ({"false_fn": one}, "'true_fn' argument required"),
                            ({"true_fn": 1.0, "false_fn": one}, "'true_fn' must be callable"),
                            ({"true_fn": one, "false_fn": 2.0}, "'false_fn' must be callable"),
                            ({"true_fn": one, "fn1": one, "false_fn": one}, "'true_fn' and 'fn1' may not be set"),
                            ({"true_fn": one, "false_fn": one, "fn2": one}, "'false_fn' and 'fn2' may not be set")]:
            with pytest.raises(TypeError, match=msg):
                tf.cond(pred, **kwargs)
        with pytest.raises(TypeError, match="pred must be a bool scalar Tensor or a Python bool, got a float32"):
            tf.cond(tf.placeholder(tf.float32, []), one, one)
        with pytest.raises(TypeError, match="got 1 of type int"):
            tf.cond(1, one, one)
        with pytest.raises(ValueError, match=r"pred must be a scalar \(rank 0\), got shape \(2,\)"):
            tf.cond(tf.placeholder(tf.bool, [2]), one, one)
        with pytest.raises(ValueError, match="'true_fn' must have a return value"):
            tf.cond(pred, lambda: None, one)
        with pytest.raises(ValueError, match="must return at least one result"):
            tf.cond(pred, lambda: [], lambda: [])
        with pytest.raises(ValueError, match=r"shape \(2,\) from 'true_fn' but \(3,\) from 'false_fn'"):
            tf.cond(pred, lambda: tf.zeros([2]), lambda: tf.zeros([3]))
        with pytest.raises(ValueError, match=r"output\['k'\] of 'true_fn' and 'false_fn' must both be values"):
            tf.cond(pred, lambda: {"k": 1.0}, lambda: {"k": None})


def test_variable_writes_in_branches_are_rejected_for_tensor_preds_only():
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, [])
        v = tf.Variable(0.0)
        with pytest.raises(ValueError, match=r"writes a variable.*both branches run"):
            tf.cond(pred, lambda: v.assign(1.0), lambda: v.assign(2.0))
        with pytest.raises(ValueError, match=r"\(assign_add\) writes a variable"):
            tf.cond(pred, lambda: v.assign_add(1.0), lambda: v.value())
        # a constant predicate calls one branch: its write is an ordinary, unconditional one
        upd = tf.cond(True, lambda: v.assign(5.0), lambda: v.assign(7.0))
        # variables created inside a branch (their initializers assign) are allowed
        w = tf.cond(pred, lambda: tf.Variable(3.0, name="w_t").value(), lambda: tf.Variable(4.0, name="w_f").value())
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            assert s.run(upd) == 5.0
            assert s.run(w, {pred: False}) == 4.0


# ---------------------------------------------------------------- case
@pytest.mark.parametrize("p0,p1", [(True, True), (True, False), (False, True), (False, False)])
def test_case_first_true_predicate_wins(p0, p1):
    with tf.Graph().as_default():
        a, b = tf.placeholder(tf.bool, []), tf.placeholder(tf.bool, [])
        out = tf.case([(a, lambda: tf.constant(1)), (b, lambda: tf.constant(2))], default=lambda: tf.constant(3))
        excl = tf.case([(a, lambda: 1), (b, lambda: 2)], default=lambda: 3, exclusive=True)
        no_default = tf.case([(a, lambda: 1.0), (b, lambda: 2.0)])
        feed = {a: p0, b: p1}
        assert run(out, feed) == (1 if p0 else 2 if p1 else 3)
        if p0 and p1:
            with pytest.raises(tf.errors.InvalidArgumentError, match="exclusive=True: more than 1 conditions"):
                run(excl, feed)
        else:
            assert run(excl, feed) == (1 if p0 else 2 if p1 else 3)
        if p0 or p1:
            assert run(no_default, feed) == (1.0 if p0 else 2.0)
        else:
            with pytest.raises(tf.errors.InvalidArgumentError, match="None of conditions evaluated as True"):
                run(no_default, feed)


def test_case_with_constant_predicates_calls_only_what_it_needs():
    with tf.Graph().as_default():
        rec = Recorder()
        out = tf.case([(False, rec.fn("a", 1)), (tf.constant(True), rec.fn("b", 2)), (True, rec.fn("c", 3))],
                      default=rec.fn("d", 4))
        assert out == 2 and rec.calls == ["b"]
        with pytest.raises(ValueError, match="exclusive=True: more than 1 conditions"):
            tf.case([(True, rec.fn("a", 1)), (True, rec.fn("b", 2))], exclusive=True)
        with pytest.raises(ValueError, match="None of conditions evaluated as True"):
            tf.case([(False, rec.fn("a", 1)), (False, rec.fn("b", 2))])


def test_case_dict_order_and_errors():
    with tf.Graph().as_default():
        b = tf.placeholder(tf.bool, [], name="b_pred")
        a = tf.placeholder(tf.bool, [], name="a_pred")
        out = tf.case({b: lambda: 2.0, a: lambda: 1.0}, default=lambda: 3.0)  # sorted by predicate name
        assert run(out, {a: True, b: True}) == 1.0
        with pytest.raises(TypeError, match="'pred_fn_pairs' must be a list, tuple, or dict"):
            tf.case(lambda: 1.0)
        with pytest.raises(TypeError, match="Each entry in 'pred_fn_pairs' must be a 2-tuple"):
            tf.case([[a, lambda: 1.0]])
        with pytest.raises(TypeError, match="pred must be Tensor of type bool"):
            tf.case([(tf.constant(1), lambda: 1.0)])
        with pytest.raises(TypeError, match="fn for pred a_pred:0 must be callable"):
            tf.case([(a, 1.0)])
        with pytest.raises(ValueError, match="at least one"):
            tf.case([])
