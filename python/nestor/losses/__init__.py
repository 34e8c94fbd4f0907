"""`nestor.losses`: TF1's loss functions and loss collections (`tf.compat.v1.losses`).

Weight regularizers (`tf.contrib.layers.l2_regularizer` and friends, and Keras-style
`l1`/`l2`/`l1_l2`) are in `nestor.losses.regularizers`.
"""
from __future__ import annotations

from . import regularizers
from .losses_impl import (Reduction, absolute_difference, compute_weighted_loss, cosine_distance, hinge_loss,
                          huber_loss, log_loss, mean_pairwise_squared_error, mean_squared_error,
                          sigmoid_cross_entropy, softmax_cross_entropy, sparse_softmax_cross_entropy)
from .util import add_loss, get_losses, get_regularization_loss, get_regularization_losses, get_total_loss

__all__ = ["Reduction", "compute_weighted_loss", "absolute_difference", "cosine_distance", "hinge_loss",
           "huber_loss", "log_loss", "mean_squared_error", "mean_pairwise_squared_error", "sigmoid_cross_entropy",
           "softmax_cross_entropy", "sparse_softmax_cross_entropy", "add_loss", "get_losses",
           "get_regularization_loss", "get_regularization_losses", "get_total_loss", "regularizers"]
