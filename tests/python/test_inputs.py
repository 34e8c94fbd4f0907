"""nestor.estimator.inputs: numpy_input_fn / pandas_input_fn."""
import numpy as np
import pandas as pd
import pytest

from nestor.estimator.inputs import numpy_input_fn, pandas_input_fn


def test_numpy_input_fn_batches_in_order():
    x = {"b": np.arange(5.0), "a": np.arange(5) * 10}
    out = list(numpy_input_fn(x, np.arange(5) % 2, batch_size=2, shuffle=False)())
    assert [len(b[1]) for b in out] == [2, 2, 1]
    assert np.concatenate([b[0]["a"] for b in out]).tolist() == [0, 10, 20, 30, 40]
    assert np.concatenate([b[0]["b"] for b in out]).dtype == np.float64
    assert np.concatenate([b[1] for b in out]).tolist() == [0, 1, 0, 1, 0]


def test_numpy_input_fn_features_only_array_and_dict_labels():
    f = list(numpy_input_fn({"a": np.arange(3)}, batch_size=8, shuffle=False)())
    assert len(f) == 1 and f[0]["a"].tolist() == [0, 1, 2]
    arr = list(numpy_input_fn(np.arange(6).reshape(3, 2), batch_size=2, shuffle=False)())
    assert arr[0].tolist() == [[0, 1], [2, 3]]
    yd = list(numpy_input_fn({"a": np.arange(3)}, {"y1": np.arange(3), "y2": np.ones(3)}, batch_size=3,
                             shuffle=False)())
    assert set(yd[0][1]) == {"y1", "y2"} and yd[0][1]["y2"].tolist() == [1.0, 1.0, 1.0]


def test_numpy_input_fn_shuffle_and_epochs():
    x = {"a": np.arange(50)}
    out = list(numpy_input_fn(x, np.arange(50), batch_size=16, num_epochs=2, shuffle=True)())
    a = np.concatenate([b[0]["a"] for b in out])
    y = np.concatenate([b[1] for b in out])
    assert np.array_equal(a, y) and sorted(a.tolist()) == sorted(list(range(50)) * 2)
    assert a.tolist() != list(range(50)) * 2
    assert [len(b[1]) for b in out] == [16] * 6 + [4]
    fn = numpy_input_fn(x, batch_size=16, num_epochs=None, shuffle=False)
    it = iter(fn())
    assert all(len(next(it)["a"]) == 16 for _ in range(10))


def test_numpy_input_fn_errors():
    with pytest.raises(ValueError, match="shuffle must be provided and explicitly set as boolean"):
        numpy_input_fn({"a": np.arange(3)})
    with pytest.raises(TypeError, match="x must be a dict or array; got list"):
        numpy_input_fn([1, 2], shuffle=False)()
    with pytest.raises(ValueError, match=r"(?s)mismatched.*Shapes in x: \{'a': \(3,\)\}.*Shapes in y: \(4,\)"):
        numpy_input_fn({"a": np.arange(3)}, np.arange(4), shuffle=False)()
    with pytest.raises(ValueError, match="duplicate keys"):
        numpy_input_fn({"a": np.arange(3)}, {"a": np.arange(3)}, shuffle=False)()
    with pytest.raises(ValueError, match="empty dict"):
        numpy_input_fn({}, shuffle=False)()


def test_pandas_input_fn():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "s": ["a", "b", "c"]}, index=[10, 11, 12])
    y = pd.Series([0, 1, 0], index=[10, 11, 12])
    out = list(pandas_input_fn(df, y, batch_size=2, shuffle=False)())
    assert out[0][0]["x"].tolist() == [1.0, 2.0] and out[0][0]["s"].tolist() == ["a", "b"]
    assert out[1][1].tolist() == [0] and set(out[0][0]) == {"x", "s"}
    multi = list(pandas_input_fn(df, pd.DataFrame({"t1": [1, 2, 3], "x": [4, 5, 6]}, index=df.index),
                                 batch_size=3, shuffle=False)())
    feats, labels = multi[0]
    assert feats["x"].tolist() == [1.0, 2.0, 3.0] and labels["t1"].tolist() == [1, 2, 3]
    assert [v.tolist() for k, v in labels.items() if k != "t1"] == [[4, 5, 6]]
    only = list(pandas_input_fn(df, batch_size=5, shuffle=True)())
    assert sorted(only[0]["x"].tolist()) == [1.0, 2.0, 3.0]


def test_pandas_input_fn_errors():
    df = pd.DataFrame({"x": [1.0, 2.0], "target": [0, 1]})
    with pytest.raises(ValueError, match="shuffle must be provided"):
        pandas_input_fn(df, shuffle=None)
    with pytest.raises(ValueError, match="Cannot use name target for target column"):
        pandas_input_fn(df, pd.Series([0, 1]), shuffle=False)
    with pytest.raises(ValueError, match="Index for x and y are mismatched"):
        pandas_input_fn(df[["x"]], pd.Series([0, 1], index=[5, 6]), shuffle=False)
    with pytest.raises(TypeError, match="target_column must be a string type"):
        pandas_input_fn(df, shuffle=False, target_column=3)
