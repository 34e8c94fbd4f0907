"""Checkpoints: safetensors files the safetensors library reads, atomic state, retention."""
import json
import os

import numpy as np
import pytest
from safetensors import safe_open

import nestor as tf
from nestor import checkpoint as ckpt


def _graph_with_vars():
    g = tf.Graph()
    with g.as_default():
        a = tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3), name="dense/kernel")
        b = tf.Variable(np.array([1.5, -2.0], np.float64), name="dense/bias")
        step = tf.Variable(np.int64(7), name="global_step", trainable=False)
        bump = tf.assign_add(a, tf.ones_like(a))
    return g, a, b, step, bump


def test_save_restore_round_trip_read_by_safetensors(tmp_path):
    g, a, b, step, bump = _graph_with_vars()
    with g.as_default(), tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        saver = ckpt.Saver(max_to_keep=2)
        prefix = saver.save(sess, str(tmp_path / "model.ckpt"), global_step=step)
        assert prefix.endswith("model.ckpt-7")
        with safe_open(prefix + ".safetensors", framework="numpy") as f:
            assert sorted(f.keys()) == ["dense/bias", "dense/kernel", "global_step"]
            np.testing.assert_array_equal(f.get_tensor("dense/kernel"), np.arange(6).reshape(2, 3))
            assert f.metadata()["global_step"] == "7"
        sess.run(bump)
        saver.restore(sess, prefix)
        np.testing.assert_array_equal(sess.run(a), np.arange(6).reshape(2, 3))
        assert ckpt.latest_checkpoint(str(tmp_path)) == prefix
        assert ckpt.load_variable(str(tmp_path), "dense/bias").tolist() == [1.5, -2.0]
        assert ckpt.list_variables(str(tmp_path)) == [("dense/bias", [2]), ("dense/kernel", [2, 3]),
                                                     ("global_step", [])]


def test_retention_and_state_file(tmp_path):
    g, a, b, step, bump = _graph_with_vars()
    with g.as_default(), tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        saver = ckpt.Saver(max_to_keep=2)
        for s in (1, 2, 3):
            saver.save(sess, str(tmp_path / "model.ckpt"), global_step=s)
    files = sorted(p for p in os.listdir(tmp_path) if p.endswith(".safetensors"))
    assert files == ["model.ckpt-2.safetensors", "model.ckpt-3.safetensors"]
    state = json.loads((tmp_path / "checkpoint").read_text())
    assert state == {"model_checkpoint_path": "model.ckpt-3",
                     "all_model_checkpoint_paths": ["model.ckpt-2", "model.ckpt-3"]}
    assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]


def test_restore_errors_name_the_variable(tmp_path):
    g, a, b, step, bump = _graph_with_vars()
    with g.as_default(), tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        prefix = ckpt.Saver(var_list=[a]).save(sess, str(tmp_path / "only_a"))
        with pytest.raises(tf.errors.NotFoundError, match="Key dense/bias not found"):
            ckpt.Saver().restore(sess, prefix)
    g2 = tf.Graph()
    with g2.as_default():
        tf.Variable(np.zeros((3, 3), np.float32), name="dense/kernel")
        with tf.Session() as sess:
            with pytest.raises(tf.errors.InvalidArgumentError, match="dense/kernel has shape \\(2, 3\\)"):
                ckpt.Saver().restore(sess, prefix)


def test_corrupt_checkpoint_is_a_clean_error(tmp_path):
    g, a, b, step, bump = _graph_with_vars()
    with g.as_default(), tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        prefix = ckpt.Saver().save(sess, str(tmp_path / "m"))
    data = open(prefix + ".safetensors", "rb").read()
    open(prefix + ".safetensors", "wb").write(data[: len(data) // 2])
    with pytest.raises(tf.errors.DataLossError, match="corrupt"):
        ckpt.load_tensors(prefix)
