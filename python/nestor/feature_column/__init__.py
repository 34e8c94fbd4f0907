"""`nestor.feature_column`: turns raw features into model inputs (`tf.feature_column`, TF 2.15
semantics with TF1's `input_layer` / `linear_model` consumers).

Differences from TensorFlow: `categorical_column_with_identity` without a default_value fails
at run time on out-of-range ids (naming the feature) instead of passing them through;
`shared_embeddings` uses TF1's collection-based sharing; `ckpt_to_load_from` is not supported
(use WarmStartSettings).
"""
from __future__ import annotations

from .categorical import (CrossedColumn, HashedCategoricalColumn, IdentityCategoricalColumn,
                          VocabularyFileCategoricalColumn, VocabularyListCategoricalColumn, WeightedCategoricalColumn,
                          categorical_column_with_hash_bucket, categorical_column_with_identity,
                          categorical_column_with_vocabulary_file, categorical_column_with_vocabulary_list,
                          crossed_column, weighted_categorical_column)
from .columns import CategoricalColumn, DenseColumn, FeatureColumn
from .consumers import DenseFeatures, input_layer, linear_model
from .dense import (BucketizedColumn, EmbeddingColumn, IndicatorColumn, NumericColumn, SharedEmbeddingColumn,
                    bucketized_column, embedding_column, indicator_column, numeric_column, shared_embedding_columns,
                    shared_embeddings)
from .parse_spec import FixedLenFeature, VarLenFeature, make_parse_example_spec
from .sequence import (SequenceCategoricalColumn, SequenceNumericColumn, sequence_categorical_column_with_hash_bucket,
                       sequence_categorical_column_with_identity, sequence_categorical_column_with_vocabulary_file,
                       sequence_categorical_column_with_vocabulary_list, sequence_input_layer,
                       sequence_numeric_column)

__all__ = ["numeric_column", "bucketized_column", "categorical_column_with_vocabulary_list",
           "categorical_column_with_vocabulary_file", "categorical_column_with_identity",
           "categorical_column_with_hash_bucket", "crossed_column", "embedding_column", "shared_embeddings",
           "shared_embedding_columns", "indicator_column", "weighted_categorical_column", "sequence_numeric_column",
           "sequence_categorical_column_with_identity", "sequence_categorical_column_with_hash_bucket",
           "sequence_categorical_column_with_vocabulary_list", "sequence_categorical_column_with_vocabulary_file",
           "make_parse_example_spec", "input_layer", "DenseFeatures", "linear_model", "sequence_input_layer",
           "FeatureColumn", "DenseColumn", "CategoricalColumn"]
