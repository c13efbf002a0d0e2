"""Search spaces: named hyperparameters, conditions, and the unit-cube encoding.

Kinds: ``categorical`` (unordered choices, one-hot encoded), ``ordinal``
(ordered choices, one scaled dimension), ``integer`` and ``real`` ranges
(optionally log-scaled). A parameter may carry a condition: it only matters
when another parameter takes one of some values. Inactive parameters encode
as zeros and are left out of decoded configurations.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from cbo._errors import SpaceError

__all__ = ["Param", "Categorical", "Ordinal", "Integer", "Real", "Space"]


@dataclass(frozen=True)
class Param:
    """Base of the four parameter kinds."""

    name: str
    condition: tuple[str, tuple] | None = field(default=None, kw_only=True)

    kind = "param"
    width = 1

    def to_dict(self) -> dict:
        d = {"type": self.kind}
        if self.condition:
            d["condition"] = {"param": self.condition[0], "in": list(self.condition[1])}
        return d


@dataclass(frozen=True)
class Categorical(Param):
    choices: tuple = ()
    kind = "categorical"

    @property
    def width(self) -> int:
        return len(self.choices)

    def encode(self, value) -> list[float]:
        return [1.0 if c == value else 0.0 for c in self.choices]

    def decode(self, x: np.ndarray):
        return self.choices[int(np.argmax(x))]

    def levels(self, n: int | None = None) -> list:
        return list(self.choices)

    def to_dict(self) -> dict:
        return {**super().to_dict(), "choices": list(self.choices)}


@dataclass(frozen=True)
class Ordinal(Param):
    choices: tuple = ()
    kind = "ordinal"

    def encode(self, value) -> list[float]:
        n = len(self.choices)
        return [self.choices.index(value) / (n - 1) if n > 1 else 0.5]

    def decode(self, x: np.ndarray):
        n = len(self.choices)
        return self.choices[min(n - 1, max(0, int(round(float(x[0]) * (n - 1)))))]

    def levels(self, n: int | None = None) -> list:
        if n is None or n >= len(self.choices):
            return list(self.choices)
        idx = np.unique(np.round(np.linspace(0, len(self.choices) - 1, n)).astype(int))
        return [self.choices[i] for i in idx]

    def to_dict(self) -> dict:
        return {**super().to_dict(), "choices": list(self.choices)}


@dataclass(frozen=True)
class _Range(Param):
    """A numeric range, linearly or log-scaled onto [0, 1]."""

    low: float = 0.0
    high: float = 1.0
    log: bool = False

    def encode(self, value) -> list[float]:
        if self.high == self.low:
            return [0.5]
        if self.log:
            return [(math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))]
        return [(value - self.low) / (self.high - self.low)]

    def _from_unit(self, x: np.ndarray) -> float:
        u = min(1.0, max(0.0, float(x[0])))
        if self.log:
            v = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            v = self.low + u * (self.high - self.low)
        return min(self.high, max(self.low, v))  # exp/log round-off must not leave the range

    def to_dict(self) -> dict:
        return {**super().to_dict(), "low": self.low, "high": self.high, "log": self.log}


@dataclass(frozen=True)
class Integer(_Range):
    low: int = 0
    high: int = 1
    kind = "integer"

    def decode(self, x: np.ndarray) -> int:
        return int(min(self.high, max(self.low, round(self._from_unit(x)))))

    def levels(self, n: int | None = None) -> list:
        count = self.high - self.low + 1
        if n is None or n >= count:
            return list(range(self.low, self.high + 1))
        return sorted({self.decode(np.array([u])) for u in np.linspace(0, 1, n)})


@dataclass(frozen=True)
class Real(_Range):
    kind = "real"

    def decode(self, x: np.ndarray) -> float:
        return float(self._from_unit(x))

    def levels(self, n: int | None = None) -> list:
        return [self.decode(np.array([u])) for u in np.linspace(0, 1, n or 5)]


_KINDS = {"categorical": Categorical, "ordinal": Ordinal, "integer": Integer, "int": Integer,
          "real": Real, "float": Real}


def _param_from_dict(name: str, spec: Mapping) -> Param:
    if not isinstance(spec, Mapping):
        raise SpaceError(f"Parameter {name!r} must be a table with a 'type', got {spec!r}.")
    kind = str(spec.get("type", "")).lower()
    if kind not in _KINDS:
        raise SpaceError(f"Parameter {name!r} has unknown type {spec.get('type')!r}; "
                         "use categorical, ordinal, integer or real.")
    cond = spec.get("condition")
    condition = None
    if cond is not None:
        if not isinstance(cond, Mapping) or "param" not in cond or "in" not in cond:
            raise SpaceError(f"Parameter {name!r}: a condition is {{param = NAME, in = [values]}}, got {cond!r}.")
        if not isinstance(cond["in"], (list, tuple)):
            raise SpaceError(f"Parameter {name!r}: a condition's 'in' must be a list of values, got {cond['in']!r}.")
        condition = (str(cond["param"]), tuple(cond["in"]))
    cls = _KINDS[kind]
    takes = ("type", "choices", "condition") if cls in (Categorical, Ordinal) else \
        ("type", "low", "high", "log", "condition")
    unused = [k for k in spec if k not in takes]
    if unused:  # a key that would be ignored is refused: what a file says is either used or named
        other = "a range (type = \"real\" or \"integer\", low, high)" if cls in (Categorical, Ordinal) else \
            "choices (type = \"ordinal\" or \"categorical\")"
        raise SpaceError(f"Parameter {name!r} is {kind}, which takes only {', '.join(takes[1:])}, not "
                         f"{', '.join(map(repr, unused))}; for {other} give its type too.")
    if cls in (Categorical, Ordinal):
        choices = spec.get("choices", ())
        if not isinstance(choices, (list, tuple)):  # a string would become its letters
            raise SpaceError(f"Parameter {name!r}: choices must be a list, e.g. choices = [8, 16], got {choices!r}.")
        return cls(name, choices=tuple(choices), condition=condition)
    if "low" not in spec or "high" not in spec:
        raise SpaceError(f"Parameter {name!r} ({kind}) needs 'low' and 'high'.")
    for bound in ("low", "high"):
        if isinstance(spec[bound], bool) or not isinstance(spec[bound], (int, float)):
            raise SpaceError(f"Parameter {name!r}: {bound} must be a number, got {spec[bound]!r}.")
    return cls(name, low=spec["low"], high=spec["high"], log=bool(spec.get("log", False)), condition=condition)


class Space:
    """An ordered set of parameters with validation, encoding and sampling.

    Raises
    ------
    SpaceError
        In one sentence, for empty or duplicate choices, low > high, a
        non-positive log bound, a duplicate name, or a condition naming an
        unknown parameter, itself, or forming a cycle.
    """

    def __init__(self, params: Sequence[Param], name: str = "space"):
        self.name = name
        self.params = tuple(params)
        self._validate()
        self._by_name = {p.name: p for p in self.params}
        self._offsets = []
        d = 0
        for p in self.params:
            self._offsets.append(d)
            d += p.width
        self.dims = d

    # -- construction ----------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping, name: str | None = None) -> "Space":
        params = data.get("params", data)
        if not isinstance(params, Mapping) or not params:
            raise SpaceError("A search space needs a 'params' table with at least one parameter.")
        return cls([_param_from_dict(str(k), v) for k, v in params.items()],
                   name=name or str(data.get("name", "space")))

    @classmethod
    def from_toml(cls, path: "str | Path") -> "Space":
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SpaceError(f"Search space file {str(path)!r} does not exist.") from None
        except tomllib.TOMLDecodeError as exc:
            raise SpaceError(f"Search space file {str(path)!r} is not valid TOML: {exc}.") from None
        return cls.from_dict(data, name=data.get("name", path.stem))

    def to_dict(self) -> dict:
        return {"name": self.name, "params": {p.name: p.to_dict() for p in self.params}}

    def _validate(self) -> None:
        if not self.params:
            raise SpaceError("A search space needs at least one parameter.")
        names = [p.name for p in self.params]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise SpaceError(f"Parameter name(s) {sorted(dup)} appear more than once in the space.")
        for p in self.params:
            if isinstance(p, (Categorical, Ordinal)):
                if len(p.choices) == 0:
                    raise SpaceError(f"Parameter {p.name!r} has no choices; give at least one.")
                if len(set(map(repr, p.choices))) != len(p.choices):
                    raise SpaceError(f"Parameter {p.name!r} lists a choice twice: {list(p.choices)}.")
            elif isinstance(p, (Integer, Real)):
                if p.low > p.high:
                    raise SpaceError(f"Parameter {p.name!r} has low {p.low} > high {p.high}.")
                if p.log and p.low <= 0:
                    raise SpaceError(f"Parameter {p.name!r} is log-scaled, so low must be > 0, got {p.low}.")
            else:
                raise SpaceError(f"Parameter {p.name!r} has unknown type {type(p).__name__}.")
        for p in self.params:
            if p.condition is None:
                continue
            parent = p.condition[0]
            if parent == p.name:
                raise SpaceError(f"Parameter {p.name!r} is conditioned on itself.")
            if parent not in names:
                raise SpaceError(f"Parameter {p.name!r} is conditioned on unknown parameter {parent!r}; "
                                 f"known: {', '.join(names)}.")
        by = {p.name: p for p in self.params}
        for p in self.params:  # cycles
            seen, cur = {p.name}, p
            while cur.condition is not None:
                cur = by[cur.condition[0]]
                if cur.name in seen:
                    raise SpaceError(f"Conditions form a cycle through parameter {p.name!r}.")
                seen.add(cur.name)

    # -- queries -----------------------------------------------------------
    def __getitem__(self, name: str) -> Param:
        return self._by_name[name]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def is_active(self, p: Param, config: Mapping) -> bool:
        cur = p
        while cur.condition is not None:
            parent, values = cur.condition
            if config.get(parent) not in values:
                return False
            cur = self._by_name[parent]
        return True

    def size(self) -> float:
        """Number of distinct configurations (inf with a real parameter); conditions ignored."""
        n = 1
        for p in self.params:
            if isinstance(p, Real):
                return math.inf
            n *= len(p.levels())
        return n

    def validate_config(self, config: Mapping) -> dict:
        """Return the config restricted to active parameters, or raise SpaceError."""
        out = {}
        for p in self.params:
            if not self.is_active(p, {**config, **out}):
                continue
            if p.name not in config:
                raise SpaceError(f"Configuration lacks parameter {p.name!r}.")
            v = config[p.name]
            if isinstance(p, (Categorical, Ordinal)) and v not in p.choices:
                raise SpaceError(f"Parameter {p.name!r} = {v!r} is not one of {list(p.choices)}.")
            if isinstance(p, (Integer, Real)) and not (p.low <= v <= p.high):
                raise SpaceError(f"Parameter {p.name!r} = {v!r} is outside [{p.low}, {p.high}].")
            out[p.name] = v
        return out

    # -- encoding ----------------------------------------------------------
    def encode(self, config: Mapping) -> np.ndarray:
        """Configuration -> point of the unit cube (inactive parameters encode as zeros)."""
        x = np.zeros(self.dims)
        for p, off in zip(self.params, self._offsets):
            if self.is_active(p, config) and p.name in config:
                x[off:off + p.width] = p.encode(config[p.name])
        return x

    def decode(self, x: np.ndarray) -> dict:
        """Unit-cube point -> the nearest valid configuration (active parameters only)."""
        x = np.asarray(x, float)
        config: dict = {}
        for p, off in zip(self.params, self._offsets):
            config[p.name] = p.decode(x[off:off + p.width])
        return {p.name: config[p.name] for p in self.params if self.is_active(p, config)}

    def encode_many(self, configs: Iterable[Mapping]) -> np.ndarray:
        rows = [self.encode(c) for c in configs]
        return np.array(rows).reshape(len(rows), self.dims)

    # -- sampling ----------------------------------------------------------
    def sample(self, rng: np.random.Generator, n: int = 1) -> list[dict]:
        """Uniform random configurations (each parameter drawn from its own levels/range)."""
        out = []
        for _ in range(n):
            config = {}
            for p in self.params:
                if isinstance(p, (Categorical, Ordinal)):
                    config[p.name] = p.choices[int(rng.integers(len(p.choices)))]
                elif isinstance(p, Integer):
                    config[p.name] = p.decode(np.array([rng.random()])) if p.log else int(rng.integers(p.low, p.high + 1))
                else:
                    config[p.name] = p.decode(np.array([rng.random()]))
            out.append({k: v for k, v in config.items() if self.is_active(self._by_name[k], config)})
        return out

    def lhs(self, rng: np.random.Generator, n: int) -> list[dict]:
        """Latin-hypercube configurations (scipy's qmc), one stratum per point and dimension."""
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(self.params), seed=rng).random(n)
        out = []
        for row in unit:
            config = {}
            for p, u in zip(self.params, row):
                if isinstance(p, Categorical):
                    config[p.name] = p.choices[min(len(p.choices) - 1, int(u * len(p.choices)))]
                else:
                    config[p.name] = p.decode(np.array([u]))
            out.append({k: v for k, v in config.items() if self.is_active(self._by_name[k], config)})
        return out

    def grid(self, max_points: int) -> list[dict]:
        """A regular grid of at most ``max_points`` configurations (levels spread evenly per parameter)."""
        per = max(1, int(max_points ** (1.0 / len(self.params))))
        while True:
            levels = [p.levels(per) for p in self.params]
            if math.prod(len(l) for l in levels) <= max_points or per == 1:
                break
            per -= 1
        # spend what is left on the parameters with the most choices
        levels = [p.levels(per) for p in self.params]
        for i in sorted(range(len(self.params)), key=lambda i: -len(self.params[i].levels())):
            more = self.params[i].levels(len(levels[i]) + 1)
            trial = levels[:i] + [more] + levels[i + 1:]
            if math.prod(len(l) for l in trial) <= max_points:
                levels = trial
        configs, seen = [], set()
        for combo in product(*levels):
            config = dict(zip(self.names, combo))
            active = {k: v for k, v in config.items() if self.is_active(self._by_name[k], config)}
            key = tuple(sorted((k, repr(v)) for k, v in active.items()))
            if key not in seen:
                seen.add(key)
                configs.append(active)
        return configs[:max_points]

    def key(self, config: Mapping) -> str:
        """A canonical string for a configuration (for de-duplication and storage)."""
        return repr(tuple((p.name, config.get(p.name)) for p in self.params if p.name in config))
