"""TensorBoard summaries (`tf.compat.v1.summary`): summary ops and event-file writers.

`scalar` and `histogram` add ops producing serialized `Summary` protos (scalar string tensors)
to the `summaries` collection; `merge`/`merge_all` combine them; `FileWriter` writes what
`Session.run` returns to an event file that TensorBoard reads.
"""
from __future__ import annotations

import re
from typing import Any, List, Optional, Sequence

from ..framework import graph as _g
from ..framework.graph import GraphKeys, Tensor, convert_to_tensor
from .proto import Event, HistogramProto, Summary, SummaryValue
from .writer import FileWriter, FileWriterCache, crc32c, encode_record, masked_crc32c, write_scalars, write_text

__all__ = ["scalar", "histogram", "merge", "merge_all", "FileWriter", "FileWriterCache", "Summary",
           "Event", "HistogramProto", "SummaryValue", "write_scalars", "write_text", "clean_tag"]

_INVALID_TAG_CHARACTERS = re.compile(r"[^-/\w\.]")


def clean_tag(name: Optional[str]) -> Optional[str]:
    """Replaces characters TensorBoard does not allow in tags by '_' and drops leading '/'."""
    if name is None:
        return None
    return _INVALID_TAG_CHARACTERS.sub("_", name).lstrip("/")


def _summary_op(op_type: str, name: str, family: Optional[str], value: Any,
                collections: Optional[Sequence[str]]) -> Tensor:
    """Creates a summary op named like TF's summary scope: the op's name is the (unique,
    scoped) name, and the tag is that name, prefixed by `family/` when a family is given."""
    name, family = clean_tag(name), clean_tag(family)
    if not name:
        raise ValueError("A summary needs a non-empty name")
    value = convert_to_tensor(value)
    base = name if family is None else f"{family}/{name}"
    g = value.graph
    full = g.unique_name(base, mark_as_used=False)
    tag = full if family is None else f"{family}/{full}"
    op = g.create_op(op_type, [value], {"tag": tag}, name=base)
    out = Tensor(g, op._id, 0)
    for key in (collections if collections is not None else [GraphKeys.SUMMARIES]):
        g.add_to_collection(key, out)
    return out


def scalar(name: str, tensor: Any, collections: Optional[Sequence[str]] = None,
           family: Optional[str] = None) -> Tensor:
    """Outputs a `Summary` protocol buffer containing a single scalar value.

    Args:
      name: the summary's name; the tag is the op's scoped, uniquified name ("loss", "loss_1").
      tensor: a real numeric scalar Tensor (cast to float32 in the summary).
      collections: graph collections to add the summary to (default `[GraphKeys.SUMMARIES]`).
      family: optional prefix of the tag, shown as the tab in TensorBoard.

    Returns:
      A scalar string Tensor holding the serialized `Summary`.
    """
    return _summary_op("summary_scalar", name, family, tensor, collections)


def histogram(name: str, values: Any, collections: Optional[Sequence[str]] = None,
              family: Optional[str] = None) -> Tensor:
    """Outputs a `Summary` protocol buffer with a histogram of `values` (any shape, finite).

    Buckets are TensorFlow's defaults (limits growing by 10% from 1e-12 to 1e20, mirrored,
    with 0); runs of empty buckets are collapsed as TensorFlow does.
    """
    return _summary_op("summary_histogram", name, family, values, collections)


def merge(inputs: Sequence[Any], collections: Optional[Sequence[str]] = None,
          name: Optional[str] = None) -> Tensor:
    """Merges summaries: a `Summary` holding every value of `inputs` (tags must be unique).

    Args:
      inputs: string Tensors holding serialized `Summary` protos.
      collections: graph collections to add the merged summary to (default: none).
      name: the op name.
    """
    tensors: List[Tensor] = [convert_to_tensor(x) for x in inputs]
    if not tensors:
        raise ValueError("merge() needs at least one summary")
    g = tensors[0].graph
    op = g.create_op("merge_summary", tensors, {}, name=name or "MergeSummary")
    out = Tensor(g, op._id, 0)
    for key in collections or []:
        g.add_to_collection(key, out)
    return out


def merge_all(key: str = GraphKeys.SUMMARIES, scope: Optional[str] = None,
              name: Optional[str] = None) -> Optional[Tensor]:
    """Merges every summary in collection `key` (optionally filtered by `scope`); None if there are none."""
    summaries = _g.get_collection(key, scope=scope)
    if not summaries:
        return None
    return merge(summaries, name=name)

