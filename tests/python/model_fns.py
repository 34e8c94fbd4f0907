"""model_fns shared by the Python tests."""
import nestor as tf


def softmax_classifier(features, labels, mode):
    """A 3-class softmax layer on features["x"]: predictions {"probabilities"}, Adagrad(0.1)."""
    logits = tf.layers.dense(features["x"], 3)
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={"probabilities": tf.nn.softmax(logits)})
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=tf.train.AdagradOptimizer(0.1).minimize(
        loss, global_step=tf.train.get_global_step()))
