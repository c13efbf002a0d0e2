"""The deployability-constrained search as a library call: ``run_search(SearchOptions(...))``.

What ``autotinyml search`` does, for the command line, ``autotinyml experiment``, the benchmarks and users' scripts
alike: the space loaded (a template, a TOML file narrowing one, or a Python ``build(hp)``), the options checked
before any work, the feasibility pre-check, the study (continued only for the same work), trainings in recycled
children or on Dask, and - when a ``confirm`` step is given (``validation.Finalists``) - the finalists confirmed by
the runtime's toolchain and the first that passes exported. Progress goes to stderr.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

import cbo
from cbo import stop_signals
from cbo.tinyml.constraint import MemsimConstraint
from cbo.tinyml.datasets import load_dataset
from cbo.tinyml.objective import KFoldObjective
from cbo.tinyml.templates import Template, check_space, get_template, shape_hint, space_for_data
from memsim import DEFAULT_RUNTIME, deployment_defaults, get_runtime
from memsim import TIME_KINDS
from targets import AutoTinyMLError, get_target, load_target_file

__all__ = ["CommandOptions", "SearchOptions", "SearchSummary", "check_budget", "check_same_work",
           "check_something_fits", "load_space", "run_search"]


@dataclass
class CommandOptions:
    """The options search and shrink share, as fields of their typed options (``SearchOptions``,
    ``ShrinkOptions``); ``from_args`` reads a parsed command line into them."""

    dataset: str = "har-basicmotions"
    label: "str | None" = None
    target: str = "stm32f303k8"
    target_file: "str | None" = None
    runtime: str = DEFAULT_RUNTIME
    dtype: "str | None" = None
    compression: "str | None" = None
    margin: "float | None" = None
    latency_ms: "float | None" = None
    seed: int = 0

    @classmethod
    def from_args(cls, args):
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls)})


# A budget's flag and unit, and the most any inference on a microcontroller takes (more is a unit slip)
BUDGETS = {"latency": ("--latency-ms", "milliseconds", 3_600_000.0, "an hour"),
           "energy": ("--energy-uj", "microjoules", 1e9, "a kilojoule")}


def check_budget(which: str, value: "float | None") -> None:
    """Refuse a budget that is not a positive number, before any work."""
    flag, unit, most, said = BUDGETS[which]
    if value is not None and not value > 0:
        raise AutoTinyMLError(f"{flag} must be a positive number of {unit}, got {value:g}.")
    if value is not None and value > most:
        raise AutoTinyMLError(f"{flag} {value:g} is beyond any inference on a microcontroller (more than {said}); "
                              f"give the budget in {unit}, or leave it out for none.")


def load_space(name: str, dataset=None) -> Template:
    """A built-in template, a Python file's ``build(hp)`` (declared on ``dataset``'s sample shape and classes),
    or a TOML file naming a template and narrowing some of its parameters.

    The file names only what it changes: ``[params.filters] choices = [8, 16]`` replaces the choices of the
    template's ``filters`` and keeps its type; a table with its own ``type`` replaces the parameter whole; every
    parameter the file does not name is the template's."""
    path = Path(name)
    if path.suffix == ".py":
        from cbo.tinyml.python_space import load_python_space

        return load_python_space(path, None if dataset is None else (dataset.sample_shape, dataset.n_classes))
    if name in cbo.tinyml.TEMPLATES or path.suffix != ".toml":
        return get_template(name)
    import tomllib

    if path.is_dir():
        raise cbo.SpaceError(f"Search space file {name!r} is a folder; pass the .toml file.")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise cbo.SpaceError(f"Search space file {name!r} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise cbo.SpaceError(f"Search space file {name!r} cannot be read: {exc}.") from None
    except tomllib.TOMLDecodeError as exc:
        raise cbo.SpaceError(f"Search space file {name!r} is not valid TOML: {exc}.") from None
    unknown_keys = sorted(set(data) - {"template", "params", "name"})
    if unknown_keys:
        raise cbo.SpaceError(f"Search space file {name!r} has key(s) {unknown_keys} that a space file does not "
                             "use; it takes template, name and [params.NAME] tables.")
    base_name = data.get("template")
    if base_name is None:
        raise cbo.SpaceError(f"Search space file {name!r} must name the template it narrows, e.g. template = \"paper-har\".")
    base = get_template(base_name)
    given = data.get("params", {})
    if not isinstance(given, dict) or not all(isinstance(v, dict) for v in given.values()):
        raise cbo.SpaceError(f"Search space file {name!r}: each parameter is a table, e.g. [params.filters] with "
                             "choices = [8, 16].")
    inherited = base.space.to_dict()["params"]
    unknown = sorted(set(given) - set(inherited))
    if unknown:
        raise cbo.SpaceError(f"Search space file {name!r} has parameter(s) {unknown} that template {base_name!r} does "
                             f"not use; its parameters are {list(inherited)}.")
    # a table without its own type keeps the template's type, and only the keys that type takes
    params = {n: (given[n] if "type" in given.get(n, {}) else {**p, **given.get(n, {})}) for n, p in inherited.items()}
    try:
        space = cbo.Space.from_dict({**data, "params": params}, name=data.get("name", path.stem))
    except cbo.SpaceError as exc:
        raise cbo.SpaceError(f"Search space file {name!r}: {exc}") from None
    check_space(base, space, name)
    from dataclasses import replace

    return replace(base, name=f"{base_name}:{path.stem}", space=space)


def _fmt_time(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    """One line per finished training (a live bar when stderr is a terminal)."""

    def __init__(self, total: int, stream=None):
        self.total = total
        self.stream = stream if stream is not None else sys.stderr  # looked up now: sys.stderr may be replaced
        self.start = time.perf_counter()
        self.tty = self.stream.isatty()

    def __call__(self, study: cbo.Study, trial: cbo.FrozenTrial) -> None:
        done = study.n_trained
        elapsed = time.perf_counter() - self.start
        per = elapsed / max(done, 1)
        best = study.best_trial
        width = 20
        bar = "#" * int(width * done / self.total) + "-" * (width - int(width * done / self.total))
        result = f"{trial.value:.3f}" if trial.value is not None else f"failed ({trial.error[:40]})"
        line = (f"[{bar}] {done}/{self.total} trainings  phase {trial.phase:<12s} acc {result}  "
                f"best deployable {best.value if best else float('nan'):.3f}  labels {len(study.trials) - done}  "
                f"elapsed {_fmt_time(elapsed)}  remaining ~{_fmt_time(per * (self.total - done))}")
        self.stream.write(("\r" + line) if self.tty else (line + "\n"))
        if self.tty and done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


DEFAULT_STUDY_DIR = "autotinyml-studies"
DEFAULT_PHASE1_LABELS = 64  # SVM-CBO's Phase-1 memsim labels (--labels)


@dataclass
class SearchOptions(CommandOptions):
    """Everything a search takes: the command line's options as a library call (``run_search(SearchOptions())`` is
    ``autotinyml search``). The defaults are the command line's (its parser reads them from here)."""

    space: "str | None" = None   # None: the space for the data's shape (cbo.tinyml.space_for_data)
    energy_uj: "float | None" = None
    trainings: int = 10
    method: str = cbo.DEFAULT_METHOD
    labels: "int | None" = None
    study: "str | None" = None
    k: int = 3
    epochs: int = 20
    batch_size: int = 16
    baseline: bool = False
    confirm: int = 3
    out: str = "autotinyml-export"
    workers: "int | None" = None
    scheduler: "str | None" = None
    parallel: "int | None" = None
    trial_timeout: "float | None" = None


@dataclass
class SearchSummary:
    """What a search ended with; ``to_dict()`` is what ``autotinyml search --json`` prints."""

    study_path: Path
    settings: dict
    n_trained: int
    n_labels: int
    wasted_trainings: int
    confirmed: dict            # trial number -> its confirmation report
    exported: "str | None"     # the folder the winner was written to
    best: "dict | None"        # the best deployable trial by k-fold accuracy
    baseline: "dict | None"
    report: "str | None"       # the report page (the command line writes it: autotinyml_cli.search)
    confirm: int               # finalists the search was asked to confirm (0: none)
    # what the table is drawn from
    study: object = field(repr=False, compare=False)
    template: object = field(repr=False, compare=False)
    constraint: object = field(repr=False, compare=False)
    baseline_result: "dict | None" = field(default=None, repr=False, compare=False)

    @property
    def rejected_by_toolchain(self) -> list:
        return [n for n, c in self.confirmed.items() if not c["deployable"]]

    @property
    def winner(self) -> "int | None":
        """The confirmed (exported) trial, or None."""
        return next((n for n, c in self.confirmed.items() if c["deployable"]), None)

    @property
    def exit_code(self) -> int:
        """0 when a deployable network was found (and, when asked, confirmed and exported), else 1."""
        if self.best is None:
            return 1
        if self.confirm and (self.winner is None or self.exported is None):
            return 1
        return 0

    def to_dict(self) -> dict:
        return {"study": str(self.study_path), "report": self.report, "settings": self.settings,
                "n_trained": self.n_trained, "n_labels": self.n_labels, "wasted_trainings": self.wasted_trainings,
                "rejected_by_toolchain": self.rejected_by_toolchain, "exported": self.exported, "best": self.best,
                "baseline": self.baseline, "confirmed": {str(k): v for k, v in self.confirmed.items()}}


MAX_SEED = 2**32 - 1   # numpy's and Keras' seeds are 32-bit
MAX_EPOCHS = 10_000


def check_seed_and_epochs(seed: int, epochs: int) -> None:
    """Refuse seeds the trainings cannot take and epoch counts no training finishes, before any work."""
    if not 0 <= seed <= MAX_SEED:
        raise AutoTinyMLError(f"--seed must be in [0, {MAX_SEED}] (numpy and Keras take 32-bit seeds), got {seed}.")
    if epochs > MAX_EPOCHS:
        raise AutoTinyMLError(f"--epochs {epochs} would not finish; give at most {MAX_EPOCHS:,}.")


def resolve_settings(args) -> tuple[str, str]:
    """(dtype, compression) for the chosen runtime; refuses impossible combinations before any work."""
    dtype, compression = runtime_defaults(args.runtime, args.dtype, args.compression, args.margin)
    check_seed_and_epochs(args.seed, args.epochs)
    for name, value, low in (("--trainings", args.trainings, 1), ("--epochs", args.epochs, 1),
                             ("--batch-size", args.batch_size, 1), ("--k", args.k, 2), ("--labels", args.labels, 1),
                             ("--confirm", args.confirm, 0), ("--workers", args.workers, 1),
                             ("--parallel", args.parallel, 1)):
        if value is not None and value < low:
            raise AutoTinyMLError(f"{name} must be at least {low}, got {value}.")
    check_labels_option(args.method, args.labels)
    check_cluster_options(args)
    check_budget("latency", args.latency_ms)
    check_budget("energy", args.energy_uj)
    return dtype, compression


def check_labels_option(method: str, labels: int | None) -> None:
    """``--labels`` is SVM-CBO's Phase-1 budget; with another method it would be silently ignored."""
    if labels is not None and method != "svmcbo":
        raise AutoTinyMLError(f"--labels sets SVM-CBO's Phase-1 memsim labels; --method {method} has no Phase 1. "
                              "Drop --labels, or use --method svmcbo.")


def check_cluster_options(args) -> None:
    """Refuse cluster options that cannot go together, and a missing Dask, before any work."""
    if args.workers is not None and args.scheduler:
        raise AutoTinyMLError("Give --workers N (a local Dask cluster) or --scheduler ADDRESS (an existing one), "
                              "not both.")
    on_cluster = args.workers is not None or bool(args.scheduler)
    for name, value in (("--trial-timeout", args.trial_timeout), ("--parallel", args.parallel)):
        if value is not None and not on_cluster:
            raise AutoTinyMLError(f"{name} needs --workers N or --scheduler ADDRESS: without them trainings run "
                                  "in this process, one at a time.")
    if args.trial_timeout is not None and args.trial_timeout <= 0:
        raise AutoTinyMLError(f"--trial-timeout {args.trial_timeout:g} must be a positive number of seconds.")
    if on_cluster:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise AutoTinyMLError("--workers and --scheduler need Dask: pip install 'dask[distributed]' "
                                  "(or the 'dask' extra of autotinyml).") from None
    if args.scheduler:
        check_scheduler_reachable(args.scheduler)


def check_scheduler_reachable(address: str, timeout_s: float = 5.0) -> None:
    """A scheduler address that cannot work is refused in a second, before a study file is made: a malformed
    one at once, a TCP port that refuses at once (Dask's client would retry for its whole timeout)."""
    import socket

    from distributed.comm.addressing import parse_address, parse_host_port

    hint = "give the address `dask scheduler` prints, e.g. tcp://127.0.0.1:8786"
    try:
        scheme, location = parse_address(address)
        if scheme not in ("tcp", "tls"):
            return  # other transports (inproc, ucx) are checked by Dask itself
        host, port = parse_host_port(location)
    except ValueError as exc:
        raise AutoTinyMLError(f"--scheduler {address!r} is not a scheduler address ({exc}); {hint}.") from None
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise AutoTinyMLError(f"No Dask scheduler answers at {address!r} ({reason}); start one with `dask "
                              f"scheduler`, or {hint}.") from None


@contextlib.contextmanager
def dask_client(args):
    """A Dask client for --workers / --scheduler, or None (trainings in this process)."""
    if args.workers is None and not args.scheduler:
        yield None
        return
    from distributed import Client

    from cbo import local_cluster

    if args.scheduler:
        try:
            client = Client(args.scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise AutoTinyMLError(f"Could not reach the Dask scheduler at {args.scheduler!r} ({exc}); start it with "
                                  "`dask scheduler` and give the address it prints (tcp://HOST:8786).") from None
        with client:
            yield client
        return
    with local_cluster(args.workers) as cluster, Client(cluster) as client:
        yield client


def runtime_defaults(runtime, dtype: "str | None", compression: "str | None",
                     margin: "float | None") -> tuple[str, str]:
    """(dtype, compression) with the defaults of a runtime, checked by memsim's one rule for what can be combined.

    Defaults: tflm -> int8 (what TFLM users deploy); xcubeai -> float32 with x8 weight sharing (the papers' setting).
    """
    from memsim import deployment_defaults

    dtype, compression = deployment_defaults(runtime, dtype, compression)
    if margin is not None and not 0 <= margin < 100:
        raise AutoTinyMLError(f"--margin {margin:g} must be a percentage in [0, 100).")
    return dtype, compression


PRECHECK_POINTS = 20_000  # memsim labels these in about a second (a template may ask for fewer)


def check_something_fits(template, constraint, target, runtime) -> None:
    """Refuse, before a study file exists, a board on which memsim finds no network of the space: a grid that
    spreads every parameter's levels (ends included) over the space, the whole space where it is smaller."""
    probe = template.space.grid(min(PRECHECK_POINTS, template.precheck_points))
    answers = constraint.many(probe)
    if any(ok for ok, _ in answers):
        return
    smallest = min((fp for _, fp in answers), key=lambda fp: (fp.get("ram_bytes", 0), fp.get("flash_bytes", 0)))
    whole = len(probe) >= template.space.size()
    checked = f"{'all ' if whole else ''}{len(probe):,} configurations{'' if whole else ' spread over the space'}"
    memory_fits = [fp for _, fp in answers if "violations" in fp
                   and all(v.kind in TIME_KINDS for v in fp["violations"])]
    if memory_fits and (constraint.latency_budget_ms is not None or constraint.energy_budget_uj is not None):
        fastest = min(memory_fits, key=lambda fp: fp["latency_high_ms"])
        least = min(memory_fits, key=lambda fp: fp["energy_high_uj"] or 0)
        budgets = " and ".join(b for b in (
            f"--latency-ms {constraint.latency_budget_ms:g}" if constraint.latency_budget_ms is not None else "",
            f"--energy-uj {constraint.energy_budget_uj:g}" if constraint.energy_budget_uj is not None else "") if b)
        energy = (f", the most frugal up to {least['energy_high_uj']:,.1f} uJ" if constraint.energy_budget_uj
                  is not None else "")
        raise AutoTinyMLError(
            f"No network of {template.name} meets {budgets} on {target.name} under {runtime}: memsim checked "
            f"{checked}; of those that fit in memory the fastest takes up to {fastest['latency_high_ms']:.2f} ms"
            f"{energy} (tops of the time model's bands). Loosen the budget, choose a faster board, or narrow the "
            "space to smaller networks.")
    raise AutoTinyMLError(
        f"No network of {template.name} fits {target.name} under {runtime}: memsim checked {checked}, the "
        f"smallest needing RAM {smallest.get('ram_bytes', 0):,} B and Flash {smallest.get('flash_bytes', 0):,} B "
        f"(board: {target.ram_bytes:,} B, {target.flash_bytes:,} B). Choose a larger target, allow compression, "
        "or narrow the space to smaller networks.")


def _default_study(dataset: str, template: str, target: str, runtime: str, dtype: str, method: str, seed: int) -> Path:
    name = f"{dataset}-{template.replace(':', '-')}-{target}-{runtime}-{dtype}-{method}-seed{seed}.sqlite"
    return Path(DEFAULT_STUDY_DIR) / name


def run_search(args: SearchOptions, confirm=None) -> SearchSummary:
    """Search, and with ``confirm`` (``validation.Finalists()``: the runtime's toolchain) confirm and export the
    finalists; progress on stderr. Bad input raises ``AutoTinyMLError`` (one sentence) before any work; Ctrl-C raises
    ``KeyboardInterrupt`` after saying where the finished trials are kept.

    Without ``confirm`` nothing is confirmed whatever ``args.confirm`` says (cbo does not run toolchains)."""
    from dataclasses import replace

    runtime = get_runtime(args.runtime)  # resolved once, here; passed down as the object (the confirmation too)
    args = replace(args, runtime=runtime, confirm=args.confirm if confirm is not None else 0)
    dtype, compression = resolve_settings(args)
    target = get_target(args.target, load_target_file(args.target_file) if args.target_file else ())
    dataset = load_dataset(args.dataset, args.label)
    if args.space:
        template, chosen = load_space(args.space, dataset), ""
    else:
        name, why = space_for_data(dataset.sample_shape)
        template, chosen = get_template(name), f" ({why}; --space chooses another)"
    if args.confirm:
        confirm.check_data(dataset)
    smallest_class = int(np.bincount(dataset.y).min())
    if args.k > smallest_class:
        raise AutoTinyMLError(f"--k {args.k} folds need at least {args.k} samples per class; the smallest class of "
                              f"{dataset.name} has {smallest_class}. Use --k {max(2, smallest_class)} or fewer.")
    input_shape = template.input_shape(dataset.sample_shape)
    settings = {"dataset": dataset.name, "space": template.space.to_dict(), "template": template.name,
                "target": target.name, "runtime": runtime.name, "dtype": dtype, "compression": compression,
                "method": args.method, "seed": args.seed, "k": args.k, "epochs": args.epochs,
                "input_shape": list(input_shape), "n_classes": dataset.n_classes,
                # what the scores and verdicts depend on beyond the names: content, not labels
                KEYED["data"]: dataset.fingerprint, KEYED["board"]: target.figures,
                "batch_size": args.batch_size}
    if args.space and Path(args.space).suffix in (".py", ".toml"):  # a space file edited since is another space
        settings[KEYED["space file"]] = file_digest(args.space)
    if getattr(template, "path", None):  # a Python space: the report reads the same file again
        settings["space_file"], settings["sample_shape"] = template.path, list(template.sample_shape)
    if args.margin is not None:  # only when given, so studies made before the option still resume
        settings["margin"] = args.margin
    if args.latency_ms is not None:
        settings["latency_ms"] = args.latency_ms
    if args.energy_uj is not None:
        settings["energy_uj"] = args.energy_uj
    study_path = Path(args.study) if args.study else _default_study(dataset.name, template.name, target.name,
                                                                     runtime.name, dtype, args.method, args.seed)
    # a study of other work is refused before any set-up, its file left as it was
    check_same_work(cbo.read_study_meta(study_path), settings, study_path)
    if args.confirm:
        confirm.check_out(args.out)
    constraint = MemsimConstraint(template, input_shape, dataset.n_classes, target, runtime, dtype,
                                  compression, margin=args.margin, latency_budget_ms=args.latency_ms,
                                  energy_budget_uj=args.energy_uj)
    check_something_fits(template, constraint, target, runtime)
    if not args.study:
        study_path.parent.mkdir(parents=True, exist_ok=True)
    storage = cbo.SQLiteStorage(study_path)
    try:
        return _search(args, storage, study_path, settings, template, dataset, target, constraint, input_shape,
                       chosen, confirm)
    except KeyboardInterrupt:
        n = sum(1 for t in storage.trials() if t.state in (cbo.TrialState.COMPLETE, cbo.TrialState.FAIL))
        print(f"\ninterrupted; {n} finished trials saved in {str(study_path)!r}; run the same command to continue.",
              file=sys.stderr)
        raise
    finally:
        storage.close()


@contextlib.contextmanager
def _interrupt_between_trials():
    """Ctrl-C (or SIGTERM) raises KeyboardInterrupt at once, as usual, and is also remembered: a library that
    catches it inside a training (seen once in the test suite: the search went on to its last trial) cannot make
    the search ignore it. Yields a function that says whether a stop signal arrived.

    Where Python cannot raise it (inside a garbage-collector callback, e.g. Dask's, it would print "Exception
    ignored" with a traceback), it is dropped quietly, as are destructor errors of objects it cut short: the
    search still stops after the current trial."""
    def on_unraisable(unraisable):
        # after Ctrl-C: its own KeyboardInterrupt, or a destructor of an object it cut short (TensorFlow's
        # ScopedTFFunction.__del__ raised AttributeError in CI), would print a traceback; the search still stops
        if not stop_signals.received():
            previous_hook(unraisable)

    stop_signals.reset()  # a signal an earlier search in this process received is not this one's
    previous = stop_signals.install()  # main() installs them too; the search also runs from the library
    previous_hook, sys.unraisablehook = sys.unraisablehook, on_unraisable
    try:
        yield stop_signals.received
    finally:
        stop_signals.restore(previous)
        sys.unraisablehook = previous_hook


INFORMATIONAL = ("input_shape", "n_classes")  # derived from the dataset; stored for `autotinyml report`

KEYED = {"data": "data_digest", "board": "board_figures", "space file": "space_file_digest"}  # settings' keys


def file_digest(path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def check_same_work(meta: dict, settings: dict, study_path) -> None:
    """A stored study continues only when everything its scores depend on is the same; otherwise one sentence says
    what changed and how to start anew."""
    if not meta:
        return
    meta = {**{k: settings[k] for k in INFORMATIONAL if k not in meta}, **meta}
    if meta == settings:
        return
    start_anew = "to start anew, pass a new --study path or delete the file."
    if KEYED["data"] not in meta:
        raise cbo.StorageError(f"Study {str(study_path)!r} was made before studies recorded their data's content, so "
                               f"it cannot be shown to be of this data; {start_anew}")
    diff = sorted(k for k in set(settings) | set(meta) if meta.get(k) != settings.get(k))
    described = {KEYED["data"]: f"the data's content ({settings['dataset']} holds other samples than when the study "
                                "was made)",
                 KEYED["board"]: f"the figures of board {settings['target']} (sizes, clock or overheads)",
                 KEYED["space file"]: "the space file's content", "space": "the space"}
    shown = ", ".join(described.get(k) or f"{k} (stored {meta.get(k)!r}, now {settings.get(k)!r})" for k in diff)
    raise cbo.StorageError(f"Study {str(study_path)!r} was made with other settings: {shown}; to continue it, "
                           f"repeat its options and data; {start_anew}")


def _search(args, storage, study_path, settings, template, dataset, target, constraint, input_shape,
            chosen="", confirm=None) -> SearchSummary:
    meta = storage.get_meta()
    check_same_work(meta, settings, study_path)  # again: the file may have changed since it was first read
    if not meta:
        storage.set_meta(settings)
    dtype, compression = settings["dtype"], settings["compression"]
    sampler_cls = cbo.SAMPLERS[args.method]
    options = {"seed": args.seed}
    if args.method == "svmcbo":
        options["n_phase1"] = DEFAULT_PHASE1_LABELS if args.labels is None else args.labels
    if "n_candidates" in inspect.signature(sampler_cls).parameters:  # fewer where a label is a Keras build
        options["n_candidates"] = template.labels_per_proposal
    sampler = sampler_cls(**options)
    study = cbo.Study(template.space, sampler, storage=storage, constraint=constraint, seed=args.seed,
                      budget=args.trainings)
    objective = KFoldObjective(template, dataset, k=args.k, epochs=args.epochs, batch_size=args.batch_size,
                               seed=args.seed)
    print(f"AutoTinyML search: {template.name}{chosen} on {dataset.name} ({len(dataset.X)} samples, "
          f"{dataset.n_classes} classes, input {input_shape}) for {target.name} "
          f"(RAM {target.ram_bytes:,} B, largest region {target.largest_region_bytes:,} B, Flash {target.flash_bytes:,} B), "
          f"runtime {constraint.runtime}, {dtype}, compression {compression}; method {args.method}, {args.trainings} "
          f"trainings, {args.k}-fold x {args.epochs} epochs, seed {args.seed}.", file=sys.stderr)
    hint = shape_hint(dataset.sample_shape) if chosen else None
    if hint:
        print(f"note: {hint}", file=sys.stderr)
    if study.trials:
        print(f"Continuing study {str(study_path)!r}: {study.n_trained} trainings and "
              f"{len(study.trials) - study.n_trained} labels already stored.", file=sys.stderr)
    else:
        print(f"Study database: {str(study_path)!r} (the same command continues it).", file=sys.stderr)
    cluster = dask_client(args) if study.n_trained < args.trainings else contextlib.nullcontext()
    with _interrupt_between_trials() as stop_requested, cluster as client:
        if client is not None:
            from cbo import worker_slots

            slots = worker_slots(client)
            print(f"Dask cluster {client.scheduler.address}: {slots} worker slot{'s' * (slots != 1)}; "
                  f"{args.parallel or slots} training{'s' * ((args.parallel or slots) != 1)} at once.", file=sys.stderr)
        progress = Progress(args.trainings)

        def after_trial(study_, trial):
            progress(study_, trial)
            if stop_requested():  # Ctrl-C that a library swallowed mid-training still stops, after this trial
                raise KeyboardInterrupt

        # (imported here: the child runs ``python -m cbo.tinyml.recycled``, which must not be imported with the
        # package first, or Python warns and runs the module twice)
        from cbo.tinyml.recycled import RecycledObjective, WorkerRecycled

        # trainings run in a child replaced every few trainings (cbo.tinyml.recycled: TensorFlow keeps every
        # compiled training step, so one long-lived process slows down and grows), here or on each Dask worker
        trainer = RecycledObjective(objective) if client is None else WorkerRecycled(objective, client)
        try:
            with trainer as train:
                study.optimize(train, args.trainings, callback=after_trial, catch=train.training_errors(),
                               client=client, q=args.parallel, trial_timeout=args.trial_timeout)
        except Exception:
            if stop_requested():  # Ctrl-C landed inside TensorFlow, which turned it into another error
                raise KeyboardInterrupt from None
            raise
    confirmed, exported = {}, None
    if args.confirm:
        confirmed, exported = confirm(study, template, dataset, target, args, input_shape, dtype, compression)
    baseline_result = None
    if args.baseline:
        print("Training the template's baseline configuration for comparison...", file=sys.stderr)
        baseline_result = objective(dict(template.baseline))
    best = study.best_trial
    return SearchSummary(
        study_path=study_path, settings=settings, n_trained=study.n_trained,
        n_labels=len(study.trials) - study.n_trained, wasted_trainings=study.n_wasted, confirmed=confirmed,
        exported=exported,
        best=None if best is None else {"config": best.config, "accuracy": best.value,
                                        "fold_scores": list(best.fold_scores), "footprint": best.footprint},
        baseline=None if not args.baseline else {"config": template.baseline,
                                                  "accuracy": baseline_result["accuracy"]},
        report=None, confirm=args.confirm, study=study, template=template,
        constraint=constraint, baseline_result=baseline_result)
