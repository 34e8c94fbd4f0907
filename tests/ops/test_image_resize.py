"""tf.image.resize (TF2 half-pixel centres), tf.compat.v1.image.resize_bilinear /
resize_nearest_neighbor / resize / resize_images: outputs, dtypes and image gradients against
values TensorFlow 2.15 computed (tests/fixtures/image_resize.npz, made by
make_image_resize.py); float64 NumPy references written here with gradients by finite
differences; dynamic shapes; error messages."""
import json
import os

import numpy as np
import pytest

import nestor as tf
from harness import check_op, rand
from nestor import image as nimage

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "image_resize.npz")
DATA = np.load(FIXTURE, allow_pickle=False)
SPEC = json.loads(str(DATA["spec"]))

FNS = {"resize": tf.image.resize, "resize_bilinear": tf.compat.v1.image.resize_bilinear,
       "resize_nearest_neighbor": tf.compat.v1.image.resize_nearest_neighbor,
       "resize_images": tf.compat.v1.image.resize_images}


@pytest.mark.parametrize("i", range(len(SPEC)), ids=[f"{c['fn']}-{i}" for i, c in enumerate(SPEC)])
def test_matches_tensorflow(i):
    case = SPEC[i]
    x, want = DATA[f"x{i}"], DATA[f"y{i}"]
    with tf.Graph().as_default():
        xt = tf.constant(x)
        y = FNS[case["fn"]](xt, **case["kwargs"])
        assert y.dtype.name == case["out_dtype"]
        assert y.shape.as_list() == list(want.shape)
        fetch = [y]
        if case["grad"]:
            fetch.append(tf.gradients(y, xt, grad_ys=tf.constant(DATA[f"w{i}"]))[0])
        with tf.Session() as s:
            got = s.run(fetch)
    if want.dtype.kind == "f":
        np.testing.assert_allclose(got[0], want, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_array_equal(got[0], want)
    if case["grad"]:
        np.testing.assert_allclose(got[1], DATA[f"g{i}"], rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- float64 references
def src_coords(n_in, n_out, align, half):
    if align and n_out > 1:
        scale = (n_in - 1) / (n_out - 1)
    else:
        scale = n_in / n_out
    x = np.arange(n_out, dtype=np.float64)
    return x, scale


def np_bilinear(img, size, align=False, half=True):
    n, h, w, c = img.shape
    out = np.zeros((n, size[0], size[1], c))
    ys, sy = src_coords(h, size[0], align, half)
    xs, sx = src_coords(w, size[1], align, half)
    for i, yo in enumerate(ys):
        yi = (yo + 0.5) * sy - 0.5 if half else yo * sy
        y0, y1, fy = max(int(np.floor(yi)), 0), min(int(np.ceil(yi)), h - 1), yi - np.floor(yi)
        for j, xo in enumerate(xs):
            xi = (xo + 0.5) * sx - 0.5 if half else xo * sx
            x0, x1, fx = max(int(np.floor(xi)), 0), min(int(np.ceil(xi)), w - 1), xi - np.floor(xi)
            top = img[:, y0, x0] * (1 - fx) + img[:, y0, x1] * fx
            bottom = img[:, y1, x0] * (1 - fx) + img[:, y1, x1] * fx
            out[:, i, j] = top * (1 - fy) + bottom * fy
    return out


def np_nearest(img, size, align=False, half=True):
    n, h, w, c = img.shape
    ys, sy = src_coords(h, size[0], align, half)
    xs, sx = src_coords(w, size[1], align, half)

    def idx(o, s, n_in):
        v = (o + 0.5) * s if half else o * s
        k = np.floor(v + 0.5) if align else np.floor(v)
        return np.clip(k.astype(int), 0, n_in - 1)
    return img[:, idx(ys, sy, h)][:, :, idx(xs, sx, w)]


BILINEAR_CASES = [((1, 3, 4, 2), (5, 7), False, True), ((2, 6, 5, 1), (3, 2), False, True),
                  ((1, 3, 4, 1), (5, 2), True, False), ((1, 4, 3, 2), (3, 6), False, False),
                  ((1, 5, 5, 1), (5, 5), False, True)]


@pytest.mark.parametrize("shape,size,align,half", BILINEAR_CASES)
def test_bilinear_float64_against_numpy_and_finite_differences(shape, size, align, half):
    x = rand(*shape, seed=1)
    check_op(lambda a: nimage._resize4(a, size, "bilinear", align, half, compute_dtype=tf.float64), [x],
             lambda a: np_bilinear(a, size, align, half), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shape,size,align,half", BILINEAR_CASES)
def test_nearest_float64_against_numpy_and_finite_differences(shape, size, align, half):
    x = rand(*shape, seed=2)
    check_op(lambda a: nimage._resize4(a, size, "nearest", align, half), [x],
             lambda a: np_nearest(a, size, align, half), rtol=0, atol=0)


def test_public_float32_matches_float64_reference():
    x = rand(2, 5, 6, 3, seed=3).astype(np.float32)
    with tf.Graph().as_default():
        a = tf.image.resize(x, [9, 4])
        b = tf.image.resize(x[0], (3, 11), method=tf.image.ResizeMethod.NEAREST_NEIGHBOR)
        c = tf.compat.v1.image.resize(x, [9, 4])  # TF1: legacy coordinates
        d = tf.compat.v1.image.resize_bilinear(x, [9, 4], align_corners=True)
        with tf.Session() as s:
            av, bv, cv, dv = s.run([a, b, c, d])
    np.testing.assert_allclose(av, np_bilinear(x, (9, 4)), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(bv, np_nearest(x[:1], (3, 11))[0])
    np.testing.assert_allclose(cv, np_bilinear(x, (9, 4), half=False), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dv, np_bilinear(x, (9, 4), align=True, half=False), rtol=1e-5, atol=1e-5)


def test_dynamic_shapes_match_static():
    x = rand(2, 5, 7, 2, seed=4).astype(np.float32)
    with tf.Graph().as_default():
        p = tf.placeholder(tf.float32, [None, None, None, 2])
        sz = tf.placeholder(tf.int32, [2])
        dyn = tf.image.resize(p, sz)
        dyn_nn = tf.compat.v1.image.resize_nearest_neighbor(p, [tf.constant(3), 8], align_corners=True)
        part = tf.image.resize(p, [4, 9])
        assert part.shape.as_list() == [None, 4, 9, 2]
        g = tf.gradients(tf.reduce_sum(dyn), p)[0]
        with tf.Session() as s:
            dv, nv, pv, gv = s.run([dyn, dyn_nn, part, g], {p: x, sz: [4, 9]})
    np.testing.assert_allclose(dv, np_bilinear(x, (4, 9)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(pv, dv, rtol=0, atol=0)
    np.testing.assert_array_equal(nv, np_nearest(x, (3, 8), align=True, half=False))
    # each output pixel's weights sum to 1, so the gradient of the sum distributes 4 * 9 per image
    np.testing.assert_allclose(gv.sum(axis=(1, 2)), np.full((2, 2), 36.0), rtol=1e-5)


def test_resize_images_same_size_is_a_no_op_and_v1_namespace():
    x = rand(1, 3, 4, 2, seed=5)
    with tf.Graph().as_default():
        xt = tf.constant(x)
        assert tf.compat.v1.image.resize_images(xt, [3, 4]) is xt  # TF1 skips same-size resizes
        assert tf.compat.v1.image.ResizeMethod.BILINEAR == 0 and tf.image.ResizeMethod.BILINEAR == "bilinear"
        assert tf.compat.v1.image.resize is tf.compat.v1.image.resize_images
        assert tf.image.resize(xt, [3, 4]).dtype == tf.float32  # TF2 always resizes (and casts)


def test_errors():
    with tf.Graph().as_default():
        x = tf.zeros([1, 4, 4, 1])
        with pytest.raises(NotImplementedError, match="'bicubic' is not supported"):
            tf.image.resize(x, [2, 2], method="bicubic")
        with pytest.raises(NotImplementedError, match="'area' is not supported"):
            tf.compat.v1.image.resize_images(x, [2, 2], method=3)
        with pytest.raises(NotImplementedError, match="antialias"):
            tf.image.resize(x, [2, 2], antialias=True)
        with pytest.raises(ValueError, match="Resize method is not implemented"):
            tf.image.resize(x, [2, 2], method="cubic")
        with pytest.raises(ValueError, match="3 or 4 dimensions"):
            tf.image.resize(tf.zeros([4, 4]), [2, 2])
        with pytest.raises(ValueError, match="2 integer elements"):
            tf.image.resize(x, [2, 2, 2])
        with pytest.raises(ValueError, match="positive"):
            tf.image.resize(x, [0, 2])
        with pytest.raises(ValueError, match="align_corners must be False"):
            tf.compat.v1.image.resize_bilinear(x, [2, 2], align_corners=True, half_pixel_centers=True)
        with pytest.raises(ValueError, match="1-D Tensor of 2 elements"):
            tf.image.resize(x, tf.placeholder(tf.int32, [3]))
