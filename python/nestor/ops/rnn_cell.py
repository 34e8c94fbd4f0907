"""`tf.compat.v1.nn.rnn_cell`: TensorFlow 1's recurrent cells and the `LSTMStateTuple` state."""
from __future__ import annotations

from .rnn_cell_impl import BasicLSTMCell, BasicRNNCell, GRUCell, LSTMCell, LSTMStateTuple, RNNCell
from .rnn_cell_wrappers import DropoutWrapper, MultiRNNCell, ResidualWrapper

__all__ = ["RNNCell", "BasicRNNCell", "BasicLSTMCell", "LSTMCell", "GRUCell", "MultiRNNCell", "LSTMStateTuple",
           "DropoutWrapper", "ResidualWrapper"]
