"""`tf.compat.v1.image`: TensorFlow 1's resize names and semantics. `resize` is TF1's
`resize_images` (legacy coordinates, `align_corners`, integer `ResizeMethod`), unlike
`nestor.image.resize`, which is TensorFlow 2's (half-pixel centres)."""
from __future__ import annotations

from ...image import ResizeMethodV1 as ResizeMethod
from ...image import resize_bilinear, resize_images, resize_nearest_neighbor

resize = resize_images

__all__ = ["ResizeMethod", "resize", "resize_images", "resize_bilinear", "resize_nearest_neighbor"]
