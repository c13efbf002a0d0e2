"""A search space written in Python: a ``build(hp)`` function that returns a Keras model, in Keras Tuner's words.

The space is declared by running ``build`` against a recording ``hp``: every ``hp.Int``, ``hp.Float``,
``hp.Choice`` and ``hp.Boolean`` it asks for becomes a parameter of a :class:`cbo.Space`, with its first value (or
``default``) as the baseline. Parameters that only appear on some branches (asked inside ``if hp.Boolean(...)``)
are found by building once more with each value of every choice seen so far, until no new one appears; those
declared inside ``hp.conditional_scope(parent, values)`` carry that condition, so the optimiser leaves them out
where they do not matter.

memsim labels a configuration by building its model (no training) and reading it through its Keras front-end; the
description is kept per configuration, so each is built once. The model that trains is the one ``build`` returns.
TensorFlow is imported only when a model is built.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from cbo._errors import SpaceError
from cbo._space import Categorical, Integer, Ordinal, Param, Real, Space
from cbo.tinyml.templates import Template

__all__ = ["HyperParameters", "PythonTemplate", "load_python_space"]

_EXPLORE_BUILDS = 64  # builds spent looking for branch-only parameters; a space needing more is unusual
_EXPLORED_CHOICES = 16  # only choices this small are tried value by value when exploring


class HyperParameters:
    """The ``hp`` a ``build`` function receives: Keras Tuner's vocabulary, over fixed values.

    Each method declares a parameter (the first time its name is seen) and returns its value: the configuration's
    where it has one, else the declared default (Keras Tuner's: ``min_value``, the first choice, False).
    """

    def __init__(self, values: "dict | None" = None):
        self.values = dict(values or {})
        self.declared: dict[str, Param] = {}
        self.defaults: dict[str, Any] = {}
        self._scope: "tuple[str, tuple] | None" = None

    # -- Keras Tuner's methods --------------------------------------------------------------------------------
    def Int(self, name: str, min_value: int, max_value: int, step: "int | None" = None, sampling: str = "linear",
            default: "int | None" = None, parent_name: "str | None" = None, parent_values=None) -> int:
        log = _log(name, sampling)
        if isinstance(min_value, bool) or not all(isinstance(v, int) for v in (min_value, max_value)):
            raise SpaceError(f"hp.Int({name!r}): min_value and max_value must be ints, got {min_value!r} and "
                             f"{max_value!r}; use hp.Float for real numbers.")
        if step in (None, 1):
            param = Integer(name, low=min_value, high=max_value, log=log, condition=self._condition(parent_name,
                                                                                                  parent_values))
        else:
            param = Ordinal(name, choices=_steps(name, min_value, max_value, step, log),
                            condition=self._condition(parent_name, parent_values))
        return self._value(param, min_value if default is None else default)

    def Float(self, name: str, min_value: float, max_value: float, step: "float | None" = None,
              sampling: str = "linear", default: "float | None" = None, log: bool = False,
              parent_name: "str | None" = None, parent_values=None) -> float:
        log = log or _log(name, sampling)
        condition = self._condition(parent_name, parent_values)
        if step is None:
            param = Real(name, low=float(min_value), high=float(max_value), log=log, condition=condition)
        else:
            param = Ordinal(name, choices=tuple(float(v) for v in _steps(name, min_value, max_value, step, log)),
                            condition=condition)
        return self._value(param, float(min_value) if default is None else default)

    def Choice(self, name: str, values, ordered: "bool | None" = None, default=None,
               parent_name: "str | None" = None, parent_values=None):
        values = tuple(values)
        if not values:
            raise SpaceError(f"hp.Choice({name!r}) has no values; give at least one.")
        if ordered is None:  # Keras Tuner's rule: numeric choices are ordered
            ordered = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        kind = Ordinal if ordered else Categorical
        return self._value(kind(name, choices=values, condition=self._condition(parent_name, parent_values)),
                           values[0] if default is None else default)

    def Boolean(self, name: str, default: bool = False, parent_name: "str | None" = None, parent_values=None) -> bool:
        return self._value(Categorical(name, choices=(False, True), condition=self._condition(parent_name,
                                                                                             parent_values)),
                           bool(default))

    def Fixed(self, name: str, value, parent_name: "str | None" = None, parent_values=None):
        """A constant: not searched, returned as given."""
        return value

    @contextlib.contextmanager
    def conditional_scope(self, parent_name: str, parent_values):
        """Parameters declared inside matter only when ``parent_name`` takes one of ``parent_values``."""
        outer = self._scope
        self._scope = (parent_name, _listed(parent_values))
        try:
            yield
        finally:
            self._scope = outer

    def get(self, name: str):
        if name in self.values:
            return self.values[name]
        if name in self.defaults:
            return self.defaults[name]
        raise SpaceError(f"hp.get({name!r}): no parameter of that name was declared before.")

    def __getitem__(self, name: str):
        return self.get(name)

    # -- recording --------------------------------------------------------------------------------------------
    def _condition(self, parent_name, parent_values) -> "tuple[str, tuple] | None":
        if parent_name is not None:
            return (parent_name, _listed(parent_values))
        return self._scope

    def _value(self, param: Param, default):
        before = self.declared.get(param.name)
        if before is not None and before.to_dict() != param.to_dict():
            raise SpaceError(f"Parameter {param.name!r} is declared twice with different definitions "
                             f"({_described(before)} and {_described(param)}); give each its own name.")
        self.declared[param.name] = param
        self.defaults.setdefault(param.name, default)
        return self.values.get(param.name, default)


def _log(name: str, sampling: "str | None") -> bool:
    sampling = (sampling or "linear").lower()
    if sampling not in ("linear", "log", "reverse_log"):
        raise SpaceError(f"Parameter {name!r}: sampling must be 'linear' or 'log', got {sampling!r}.")
    return sampling != "linear"


def _steps(name: str, low, high, step, log: bool) -> tuple:
    """The values of a stepped range: low, low + step, ... (log: low, low * step, ...), up to high."""
    if (log and step <= 1) or step <= 0:
        raise SpaceError(f"Parameter {name!r}: step {step!r} must be {'> 1 with log sampling' if log else '> 0'}.")
    out, v = [], low
    while v <= high * (1 + 1e-12):
        out.append(round(v, 12) if isinstance(v, float) else v)
        v = v * step if log else v + step
    return tuple(out)


def _listed(values) -> tuple:
    return tuple(values) if isinstance(values, (list, tuple, set, frozenset)) else (values,)


def _described(p: Param) -> str:
    return ", ".join(f"{k} {v}" for k, v in p.to_dict().items())


@dataclass(frozen=True)
class PythonTemplate(Template):
    """A template whose networks a user's ``build`` function makes (see the module's docstring)."""

    path: str = ""
    build: "Callable | None" = None
    takes_shape: bool = True       # build(hp, input_shape, n_classes) rather than build(hp)
    sample_shape: tuple = (128, 8)  # one sample of the data: the input_shape build is given
    model_input: tuple = ()        # the input of the models build makes (the samples are reshaped to it)
    n_classes: int = 4
    _specs: dict = field(default_factory=dict, compare=False, repr=False)

    precheck_points = 128  # a Keras build costs ~15-20 ms
    labels_per_proposal = 256

    def input_shape(self, data_shape: tuple) -> tuple:
        shape = tuple(int(d) for d in data_shape)
        if math.prod(self.model_input) != math.prod(shape):
            raise SpaceError(f"{self.path}: build(hp) makes models with input shape {self.model_input}, but the "
                             f"data's samples have shape {shape}; build the input from the input_shape argument "
                             "of build(hp, input_shape, n_classes).")
        return self.model_input

    def keras_model(self, config: dict, input_shape: tuple, n_classes: int, seed: "int | None" = None):
        """The model ``build`` makes for ``config`` (its input is ``self.input_shape(...)``, build's own)."""
        return self.built(HyperParameters(config), n_classes, seed)

    def built(self, hp: HyperParameters, n_classes: int, seed: "int | None" = None):
        """The model ``build`` makes with ``hp``, checked: a keras.Model with one output per class."""
        from memsim.frontends.keras import quiet_keras

        keras = quiet_keras()
        keras.backend.clear_session(free_memory=False)  # names from scratch: the same tensors memsim read
        if seed is not None:
            keras.utils.set_random_seed(seed)
        config = hp.values
        try:
            with _time_limit(self.path, config):
                model = self.build(hp, self.sample_shape, n_classes) if self.takes_shape else self.build(hp)
        except SpaceError as exc:  # a parameter declared wrongly: said with the file's name
            raise SpaceError(f"{self.path}: {exc}") from None
        except SystemExit as exc:
            raise SpaceError(f"{self.path}: build(hp) called sys.exit({exc.code!r}) for {_shown(config)}; it must "
                             "return a keras.Model (raise an exception to reject a configuration).") from None
        except Exception as exc:  # the user's code: any failure is named with the configuration that caused it
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise BuildError(f"{self.path}: build(hp) failed for {_shown(config)}: "
                             f"{type(exc).__name__}: {first.rstrip('.')}.", shapes=isinstance(exc, ValueError)
                             ) from None
        if not isinstance(model, keras.Model):
            raise SpaceError(f"{self.path}: build(hp) returned {type(model).__name__} for {_shown(config)}; "
                             "it must return a keras.Model.")
        inputs = tuple(model.inputs[0].shape[1:]) if len(model.inputs) == 1 else None
        if self.model_input and inputs != self.model_input:
            raise SpaceError(f"{self.path}: the model build(hp) makes for {_shown(config)} takes inputs of shape "
                             f"{inputs}, its default values' {self.model_input}; the input must not depend on hp.")
        outputs = model.outputs[0].shape[-1] if len(model.outputs) == 1 else None
        if outputs != n_classes:
            raise SpaceError(f"{self.path}: the model build(hp) makes for {_shown(config)} has "
                             f"{outputs if outputs is not None else len(model.outputs)} outputs, but the data has "
                             f"{n_classes} classes; end with Dense(n_classes, activation='softmax').")
        return model

    def spec(self, config: dict, input_shape: tuple, n_classes: int) -> dict:
        from memsim import ShapeError
        from memsim.frontends.keras import spec_from_keras

        key = (self.space.key(config), tuple(input_shape), n_classes)
        if key not in self._specs:
            try:
                spec = spec_from_keras(self.keras_model(config, input_shape, n_classes))
            except BuildError as exc:
                if not exc.shapes:  # a network that cannot be built for this input is undeployable;
                    raise           # anything else is a mistake to fix
                spec = ShapeError(str(exc))
            self._specs[key] = spec
        spec = self._specs[key]
        if isinstance(spec, Exception):
            raise spec
        return spec

    def __reduce__(self):  # to a Dask worker: the file's path, read again there
        return (load_python_space, (self.path, (self.sample_shape, self.n_classes)))


BUILD_NOTICE_S = 10.0   # a build this slow gets a progress line (a usual one takes 20 ms to a second)
BUILD_LIMIT_ENV = "AUTOTINYML_BUILD_LIMIT_S"  # one this slow is stopped (default 120 s): a build that never
                                              # returns must not hang the search


def _build_limit_s() -> float:
    import os

    try:
        return max(float(os.environ.get(BUILD_LIMIT_ENV, "120")), 1.0)
    except ValueError:
        raise SpaceError(f"{BUILD_LIMIT_ENV} must be a number of seconds, got "
                         f"{os.environ[BUILD_LIMIT_ENV]!r}.") from None


@contextlib.contextmanager
def _time_limit(path: str, config: dict):
    """Say when a build is slow, and stop it at its time limit (SIGALRM: main thread, POSIX; elsewhere a build runs
    unwatched)."""
    import signal
    import threading
    import time

    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return
    start, limit = time.monotonic(), _build_limit_s()

    def on_alarm(signum, frame):
        waited = time.monotonic() - start
        if waited >= limit - 0.05:
            raise BuildTimeout(f"build(hp) did not return within {limit:g} s for {_shown(config)}; make build(hp) "
                               f"only construct the model (no training, loops or waits inside it), or raise "
                               f"{BUILD_LIMIT_ENV}.")
        print(f"  build(hp) in {Path(path).name} still running for {_shown(config)} after {waited:.0f} s "
              f"(stopped at {limit:g} s)", file=sys.stderr, flush=True)
        signal.setitimer(signal.ITIMER_REAL, min(BUILD_NOTICE_S, limit - waited))

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, min(BUILD_NOTICE_S, limit))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class BuildError(SpaceError):
    """A user's ``build`` function raised; ``shapes``: with a ValueError, which is how Keras refuses layer shapes
    that do not fit their input."""

    def __init__(self, message: str, shapes: bool = False):
        super().__init__(message)
        self.shapes = shapes


class BuildTimeout(SpaceError):
    """A user's ``build`` function ran past its time limit (``AUTOTINYML_BUILD_LIMIT_S``)."""


def _shown(config: dict) -> str:
    """A configuration as a sentence names it."""
    if not config:
        return "its default values"
    return "configuration {" + ", ".join(f"{k}={v!r}" for k, v in config.items()) + "}"


def load_python_space(path: "str | Path", shape_hint: "tuple | None" = None) -> PythonTemplate:
    """The search space a Python file's ``build`` function declares.

    ``shape_hint`` is ``(sample_shape, n_classes)`` of the data the space is searched on: ``build`` is given them
    (None: a stand-in of 128 x 8 samples and 4 classes).
    """
    path = Path(path)
    build = _build_function(path)
    takes_shape = _takes_shape(path, build)
    sample_shape, n_classes = shape_hint or ((128, 8), 4)
    shape = tuple(int(d) for d in sample_shape)
    probe = PythonTemplate(name=f"py:{path.stem}", space=Space([Categorical("_", choices=(0,))]), layers=None,
                           baseline={}, path=str(path), build=build, takes_shape=takes_shape, sample_shape=shape,
                           n_classes=n_classes)
    declared, defaults, first_input = _declare(probe)
    if not declared:
        raise SpaceError(f"{path}: build(hp) declares no hyperparameter; use hp.Int, hp.Float, hp.Choice or "
                         "hp.Boolean for what the search may change.")
    try:
        space = Space(list(declared.values()), name=path.stem)
    except SpaceError as exc:
        raise SpaceError(f"{path}: {exc}") from None
    baseline = {k: v for k, v in defaults.items() if space.is_active(space[k], defaults)}
    return PythonTemplate(
        name=f"py:{path.stem}", space=space, layers=None, baseline=baseline,
        description=(inspect.getdoc(build) or f"build(hp) in {path.name}").splitlines()[0],
        path=str(path.resolve()), build=build, takes_shape=takes_shape, sample_shape=shape,
        model_input=first_input, n_classes=n_classes)


def _build_function(path: Path) -> Callable:
    if path.is_dir():
        raise SpaceError(f"Search space file {str(path)!r} is a folder; pass the .py file that defines build(hp).")
    if not path.is_file():
        raise SpaceError(f"Search space file {str(path)!r} does not exist.")
    from memsim.frontends.keras import quiet_keras

    quiet_keras()  # the file imports Keras itself: TensorFlow's start-up chatter must not come before our errors
    module_name = f"autotinyml_space_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look the module up by name
    try:
        spec.loader.exec_module(module)
    except SystemExit as exc:
        del sys.modules[module_name]
        raise SpaceError(f"Search space file {str(path)!r} called sys.exit({exc.code!r}) while loading; a space "
                         "file only defines build(hp), so remove the exit (or guard it with "
                         "if __name__ == '__main__').") from None
    except Exception as exc:
        del sys.modules[module_name]
        raise SpaceError(f"Search space file {str(path)!r} cannot be run: {type(exc).__name__}: {exc}.") from None
    build = getattr(module, "build", None)
    if not callable(build):
        raise SpaceError(f"Search space file {str(path)!r} defines no build(hp) function; write "
                         "def build(hp, input_shape, n_classes) returning a keras.Model.")
    return build


def _takes_shape(path: Path, build: Callable) -> bool:
    params = [p for p in inspect.signature(build).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    if len(params) not in (1, 3):
        raise SpaceError(f"{path}: build takes {len(params)} arguments; write build(hp) or "
                         "build(hp, input_shape, n_classes).")
    return len(params) == 3


def _declare(probe: PythonTemplate) -> tuple[dict, dict, tuple]:
    """Build with the defaults, then with each other value of every small choice found, until no parameter is
    new."""
    declared: dict[str, Param] = {}
    defaults: dict[str, Any] = {}
    tried: set = set()
    todo: list[dict] = [{}]
    first_input: tuple = ()
    builds = 0
    while todo and builds < _EXPLORE_BUILDS:
        values = todo.pop(0)
        hp = HyperParameters(values)
        builds += 1
        try:
            model = probe.built(hp, probe.n_classes)
        except BuildError as exc:
            if not values or not exc.shapes:  # the defaults must build; another branch may not fit this input
                raise
            model = None
        if not first_input and model is not None:
            first_input = tuple(int(d) for d in model.inputs[0].shape[1:])
        for name, param in hp.declared.items():
            if name in declared and declared[name].to_dict() != param.to_dict():
                raise SpaceError(f"{probe.path}: parameter {name!r} is declared differently on different branches "
                                 f"({_described(declared[name])} and {_described(param)}); give each its own name.")
            if name not in declared:
                declared[name] = param
                defaults[name] = hp.defaults[name]
                used = hp.values.get(name, hp.defaults[name])  # this build's value: explored already
                for v in _explored_values(param):
                    if v == used:
                        continue
                    branch = {**values, name: v}
                    key = repr(sorted(branch.items(), key=lambda kv: kv[0]))
                    if key not in tried:
                        tried.add(key)
                        todo.append(branch)
    return declared, defaults, first_input


def _explored_values(param: Param) -> list:
    """The values a declaring build tries for a parameter: every choice of a small choice or integer range
    (``for i in range(hp.Int("layers", 1, 3))`` declares per-layer parameters), the ends of a larger one, none
    of a real range."""
    if isinstance(param, (Categorical, Ordinal)):
        return list(param.choices) if len(param.choices) <= _EXPLORED_CHOICES else [param.choices[0],
                                                                                    param.choices[-1]]
    if isinstance(param, Integer):
        return list(range(param.low, param.high + 1)) if param.high - param.low < _EXPLORED_CHOICES else \
            [param.low, param.high]
    return []
