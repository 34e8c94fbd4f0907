"""`nestor.layers`: TF1's functional and object layers (`tf.compat.v1.layers`).

Layers create their variables with `tf.get_variable` inside their own variable scope
(`dense/kernel`, `dense_1/kernel`, ...), so they land in the GLOBAL/TRAINABLE collections
and can be shared with `name=` + `reuse=True`. Batch normalization's moving-average
updates go to `tf.GraphKeys.UPDATE_OPS`. Regularizers for `kernel_regularizer=` are in
`nestor.losses.regularizers` (`l1_regularizer`, `l2_regularizer`, `l1_l2_regularizer`).
"""
from __future__ import annotations

from .base import InputSpec, Layer
from .convolutional import (AveragePooling2D, AvgPool2D, Conv2D, Convolution2D, MaxPool2D, MaxPooling2D,
                            average_pooling2d, conv2d, max_pooling2d)
from .convolutional_extra import (AveragePooling1D, AvgPool1D, Conv1D, Conv2DTranspose, Convolution1D,
                                  Convolution2DTranspose, MaxPool1D, MaxPooling1D, average_pooling1d, conv1d,
                                  conv2d_transpose, max_pooling1d)
from .core import Dense, Dropout, Embedding, Flatten, dense, dropout, flatten
from .normalization import BatchNormalization, batch_normalization

BatchNorm = BatchNormalization

__all__ = ["Layer", "InputSpec", "Dense", "dense", "Dropout", "dropout", "Flatten", "flatten", "Embedding",
           "BatchNormalization", "BatchNorm", "batch_normalization", "Conv2D", "Convolution2D", "conv2d",
           "MaxPooling2D", "MaxPool2D", "max_pooling2d", "AveragePooling2D", "AvgPool2D", "average_pooling2d",
           "Conv1D", "Convolution1D", "conv1d", "MaxPooling1D", "MaxPool1D", "max_pooling1d", "AveragePooling1D",
           "AvgPool1D", "average_pooling1d", "Conv2DTranspose", "Convolution2DTranspose", "conv2d_transpose"]
