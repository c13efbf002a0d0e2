"""The objective: k-fold cross-validated accuracy of the Keras model a template builds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cbo.tinyml.datasets import Dataset
from cbo.tinyml.templates import Template

__all__ = ["KFoldObjective", "optimizer"]


@dataclass
class KFoldObjective:
    """Stratified k-fold accuracy; one call trains k models.

    Returns ``{"accuracy": mean, "fold_scores": [...]}``. A NaN loss makes
    the result NaN, which the study records as a failed trial.
    """

    template: Template
    dataset: Dataset
    k: int = 3
    epochs: int = 20
    batch_size: int = 16
    seed: int = 0
    learning_rate: float | None = None
    # Training steps per TensorFlow call: the same updates in the same order (identical accuracies), about 1.4x
    # faster on these small networks, where Python overhead per step dominates.
    steps_per_execution: int = 64

    @staticmethod
    def training_errors() -> tuple:
        """Exceptions a training can raise on a valid configuration (out of memory, a TensorFlow op failing,
        numerical trouble): recorded as failed trials. Anything else is a bug and stops the search."""
        from memsim.frontends.keras import quiet_keras

        quiet_keras()
        import tensorflow as tf

        return (tf.errors.OpError, MemoryError, ArithmeticError, ValueError, RuntimeError)

    def __call__(self, config: dict) -> dict:
        from sklearn.model_selection import StratifiedKFold

        from cbo.tinyml.training import without_input_autotune
        from memsim.frontends.keras import quiet_keras

        keras = quiet_keras()

        ds = self.dataset
        input_shape = self.template.input_shape(ds.sample_shape)
        X = ds.X.reshape((len(ds.X),) + input_shape)
        k = min(self.k, int(np.bincount(ds.y).min()))
        folds = StratifiedKFold(n_splits=max(k, 2), shuffle=True, random_state=self.seed)
        scores = []
        for i, (train, test) in enumerate(folds.split(X, ds.y)):
            model = self.template.keras_model(config, input_shape, ds.n_classes, seed=self.seed * 1000 + i)
            opt = optimizer(config, self.learning_rate)
            model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                          steps_per_execution=self.steps_per_execution)
            with without_input_autotune():
                history = model.fit(X[train], ds.y[train], epochs=self.epochs, batch_size=self.batch_size,
                                    verbose=0)
                if not np.isfinite(history.history["loss"][-1]):
                    return {"accuracy": float("nan"), "fold_scores": scores}
                _, acc = model.evaluate(X[test], ds.y[test], verbose=0)
            scores.append(float(acc))
            keras.backend.clear_session()
        return {"accuracy": float(np.mean(scores)), "fold_scores": scores}


def optimizer(config: dict, learning_rate: "float | None" = None):
    """The Keras optimiser a configuration names (``optimizer``, default adam), at its ``learning_rate`` when it has
    one (a search space may tune it), else at ``learning_rate``, else at Keras's default."""
    from memsim.frontends.keras import quiet_keras

    keras = quiet_keras()
    name = config.get("optimizer", "adam")
    rate = config.get("learning_rate", learning_rate)
    return keras.optimizers.get(name if rate is None else {"class_name": name, "config": {"learning_rate": rate}})
