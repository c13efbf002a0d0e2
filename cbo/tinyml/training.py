"""Settings for the project's Keras trainings that change their speed, never their results.

TensorFlow's CPU allocator is set where TensorFlow is first loaded (memsim.frontends.keras.quiet_keras); this module
holds what has to wrap the training calls themselves.
"""

from __future__ import annotations

import contextlib

__all__ = ["without_input_autotune"]


@contextlib.contextmanager
def without_input_autotune():
    """Train from arrays without tf.data's autotuning thread.

    ``model.fit(X, y)`` feeds arrays through a tf.data pipeline that Keras builds with autotuning on. Each epoch
    ends by destroying its iterator, which waits for the autotuning thread to finish its current sleep, and that
    sleep grows with the epoch's length: a 4.9 M-parameter network's process sat idle for a third of its training
    (benchmarks/bench_training.py). Without autotuning the pipeline delivers the same batches in the same order
    (tests/cbo_tests/test_training_speed.py), so accuracies are unchanged. Keras offers no public switch for the
    pipeline it builds, so this wraps its array adapter for the duration of the block; with a Keras whose adapter
    is not where expected, trainings run as before (a test pins the installed one).
    """
    try:
        from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter
    except ImportError:
        yield
        return
    build = ArrayDataAdapter.get_tf_dataset
    if getattr(build, "without_autotune", False):  # already inside such a block
        yield
        return

    def get_tf_dataset(self):
        import tensorflow as tf

        options = tf.data.Options()
        options.autotune.enabled = False
        return build(self).with_options(options)

    get_tf_dataset.without_autotune = True
    ArrayDataAdapter.get_tf_dataset = get_tf_dataset
    try:
        yield
    finally:
        ArrayDataAdapter.get_tf_dataset = build
