"""``autotinyml search``: the deployability-constrained search, end to end."""

from __future__ import annotations

import contextlib
import inspect
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import cbo
from memsim import get_runtime
from memsim._verdict import TIME_VIOLATIONS
from cbo.tinyml import KFoldObjective, MemsimConstraint, TEMPLATES, Template, get_template, load_dataset, space_for_data
from cbo.tinyml.objective import optimizer
from cbo.tinyml.recycled import RecycledObjective, WorkerRecycled
from cbo.tinyml.templates import check_space, shape_hint
from cbo.tinyml.training import without_input_autotune
from autotinyml_cli._options import (CommandOptions, add_budget, add_compression, add_dtype, add_runtime,
                                     check_budget)
from autotinyml_cli import _signals
from autotinyml_cli._format import report_figures, verdict_source_text
from targets import AutoTinyMLError, format_size, get_target, load_target_file


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


def _column(label: str, acc, std, fp: dict, deployable, xcross: str = "-", confirmed: str = "-") -> list[str]:
    acc_s = "-" if acc is None else f"{100 * acc:.2f}%" + (f" (+/- {100 * std:.2f})" if std else "")
    return [label, acc_s, f"{fp.get('ram_bytes', 0):,}", f"{fp.get('flash_bytes', 0):,}", f"{fp.get('macc', 0):,}",
            confirmed, xcross, "YES" if deployable else "NO"]


def summary_table(study: cbo.Study, k: int, baseline: dict | None, constraint: MemsimConstraint,
                  baseline_result: dict | None, confirmed: dict | None = None) -> str:
    confirmed = confirmed or {}
    cols = []
    if baseline is not None:
        feasible, fp = constraint(baseline)
        r = baseline_result or {}
        cols.append(_column("baseline", r.get("accuracy"), None, fp, feasible))
    for rank, t in enumerate(study.ranked(k), 1):
        c = confirmed.get(t.number)
        xc = "-" if c is None or "cross_accuracy" not in c else f"{100 * c['cross_accuracy']['acc']:.2f}%"
        m = (c or {}).get("measured")
        conf = "-" if c is None else (f"{m['ram_bytes']:,} / {m['flash_bytes']:,}" if m else
                                      ("predicted only" if "verdict_source" in c else "failed"))
        ok = t.feasible if c is None else (t.feasible and c["deployable"])
        cols.append(_column(f"#{rank} (trial {t.number})", t.value, t.value_std, t.footprint, ok, xc, conf))
    rows = ["", "Accuracy (k-fold)", "RAM predicted (B)", "Flash predicted (B)", "MACC",
            "RAM / Flash measured (B)", "X-CROSS", "Deployable"]
    table = [[rows[i]] + [c[i] for c in cols] for i in range(len(rows))]
    widths = [max(len(r[j]) for r in table) for j in range(len(table[0]))]
    lines = ["  ".join(r[j].ljust(widths[j]) if j == 0 else r[j].rjust(widths[j]) for j in range(len(r)))
             for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


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
    report: "str | None"       # the report page
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


def check_enough_samples(dataset, what: str) -> None:
    """X-CROSS judges the deployed network on the dataset's samples; too few and no verdict is possible."""
    from validation.agreement import MIN_SAMPLES

    if len(dataset.X) < MIN_SAMPLES:
        raise AutoTinyMLError(f"{dataset.name} has {len(dataset.X)} samples; {what} needs at least {MIN_SAMPLES} "
                              "to check the deployed network against the trained one (X-CROSS). Add samples.")


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

    from cbo._distributed import local_cluster

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


def runtime_defaults(runtime: str, dtype: "str | None", compression: "str | None",
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
                   and not any(not v.startswith(TIME_VIOLATIONS) for v in fp["violations"])]
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


def run_search(args: SearchOptions) -> SearchSummary:
    """Search, confirm and export; progress on stderr. Bad input raises ``AutoTinyMLError`` (one sentence) before
    any work; Ctrl-C raises ``KeyboardInterrupt`` after saying where the finished trials are kept."""
    from validation.export import check_writable

    dtype, compression = resolve_settings(args)
    runtime = get_runtime(args.runtime)  # resolved once, here; passed down as the object
    target = get_target(args.target, load_target_file(args.target_file) if args.target_file else ())
    dataset = load_dataset(args.dataset, args.label)
    if args.space:
        template, chosen = load_space(args.space, dataset), ""
    else:
        name, why = space_for_data(dataset.sample_shape)
        template, chosen = get_template(name), f" ({why}; --space chooses another)"
    if args.confirm:
        check_enough_samples(dataset, "a search that confirms its winner")
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
        check_writable(args.out)
    constraint = MemsimConstraint(template, input_shape, dataset.n_classes, target, runtime, dtype,
                                  compression, margin=args.margin, latency_budget_ms=args.latency_ms,
                                  energy_budget_uj=args.energy_uj)
    check_something_fits(template, constraint, target, runtime)
    if not args.study:
        study_path.parent.mkdir(parents=True, exist_ok=True)
    storage = cbo.SQLiteStorage(study_path)
    try:
        return _search(args, storage, study_path, settings, template, dataset, target, constraint, input_shape,
                       chosen)
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
        if not _signals.received():
            previous_hook(unraisable)

    _signals.reset()  # a signal an earlier search in this process received is not this one's
    previous = _signals.install()  # main() installs them too; the search also runs from the library
    previous_hook, sys.unraisablehook = sys.unraisablehook, on_unraisable
    try:
        yield _signals.received
    finally:
        _signals.restore(previous)
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
            chosen="") -> int:
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
            from cbo._distributed import worker_slots

            slots = worker_slots(client)
            print(f"Dask cluster {client.scheduler.address}: {slots} worker slot{'s' * (slots != 1)}; "
                  f"{args.parallel or slots} training{'s' * ((args.parallel or slots) != 1)} at once.", file=sys.stderr)
        progress = Progress(args.trainings)

        def after_trial(study_, trial):
            progress(study_, trial)
            if stop_requested():  # Ctrl-C that a library swallowed mid-training still stops, after this trial
                raise KeyboardInterrupt

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
        confirmed, exported = confirm_finalists(study, template, dataset, target, args, input_shape, dtype,
                                                compression)
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
        report=write_study_report(study_path), confirm=args.confirm, study=study, template=template,
        constraint=constraint, baseline_result=baseline_result)


def cmd_search(args) -> int:
    """``autotinyml search``: run the search, then print its table (or ``--json``) and return the exit code."""
    try:
        summary = run_search(SearchOptions.from_args(args))
    except KeyboardInterrupt:
        return _signals.exit_code()
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
        return summary.exit_code
    print_summary(summary, summary.settings["runtime"])
    return summary.exit_code


def print_summary(summary: SearchSummary, runtime: str) -> None:
    """The table of the best configurations and what was exported, as the command line prints them."""
    study, template, confirmed = summary.study, summary.template, summary.confirmed
    print()
    print(summary_table(study, 3, template.baseline if summary.baseline else None, summary.constraint,
                        summary.baseline_result, confirmed))
    rejected = summary.rejected_by_toolchain
    print(f"\n{summary.n_trained} trainings ({summary.wasted_trainings} on configurations memsim found undeployable), "
          f"{summary.n_labels} memsim labels"
          + (f"; {len(rejected)} finalist(s) accepted by memsim but rejected by the toolchain" if summary.confirm
             else "")
          + f"; study in {str(summary.study_path)!r}.")
    if summary.report:
        print(f"Report (plots, board table): {summary.report}")
    best, winner = study.best_trial, summary.winner
    if best is None:
        failed = [t for t in study.trials if t.state == cbo.TrialState.FAIL]
        if failed and len(failed) == study.n_trained:  # nothing to do with the board: the trainings broke
            print(f"Every training failed ({len(failed)} of {study.n_trained}); the first error: {failed[0].error}")
        else:
            print("No deployable configuration was trained: enlarge the target, allow compression, or widen the "
                  "space.")
        return
    if summary.confirm and winner is None:
        print("No finalist passed the toolchain confirmation; see the reasons above.")
        return
    chosen = next(t for t in study.trials if t.number == (winner if winner is not None else best.number))
    print(f"Best deployable configuration (by k-fold accuracy): trial {chosen.number}, {chosen.config}")
    if winner is None:
        fp = chosen.footprint
        print(f"  memsim's {runtime} prediction: RAM {format_size(fp['ram_bytes'])}, "
              f"Flash {format_size(fp['flash_bytes'])}, MACC {fp['macc']:,} (not confirmed: --confirm 0)")
        return
    report = confirmed[winner]
    print(f"  verdict from {verdict_source_text(report['verdict_source'])}:")
    print(report_figures(report))
    if summary.exported:
        print(f"Exported trial {winner} to {summary.exported!r}: {', '.join(report['files'])}.")
        print(f"  re-check: cd {summary.exported} && {report['recheck']}")
    else:
        print(f"Trial {winner} was confirmed, but writing the export failed (see above); the study "
              f"is kept in {str(summary.study_path)!r}.")
        return
    if report["verdict_source"]["kind"] == "predicted":
        from validation.stedgeai import INSTALL_HINT

        print(f"ST Edge AI is not installed here, so the RAM/Flash verdict is memsim's X-CUBE-AI prediction; to "
              f"check it with ST's tool, {INSTALL_HINT}, then run the same command.")


def write_study_report(study_path: Path) -> "str | None":
    """The study's report next to it (<study>-report/index.html); a report that cannot be drawn costs a note,
    never the search's result."""
    from autotinyml_cli.report import write_report

    try:
        return str(write_report([study_path], study_path.with_name(study_path.stem + "-report")))
    except (AutoTinyMLError, ImportError, OSError) as exc:
        print(f"autotinyml: note: no report written ({exc})", file=sys.stderr)
        return None


def confirm_finalists(study, template, dataset, target, args, input_shape, dtype, compression):
    """Retrain the best deployable candidates and confirm them for the search's own runtime.

    ``validation.export.confirm`` gives the verdict (tflm: measured by real
    tflite-micro; xcubeai: stedgeai where installed, else memsim, with X-CROSS
    from tflite-micro). A rejected candidate is reported and the next one is
    tried; the first accepted one is exported to ``args.out``.
    Returns ({trial number: report}, exported folder or None).
    """
    from sklearn.model_selection import train_test_split

    from memsim.frontends.keras import quiet_keras
    from validation import ToolchainError
    from validation.export import confirm, replaced_note, write_export

    quiet_keras()
    X = dataset.X.reshape((len(dataset.X),) + input_shape)
    X_tr, X_val, y_tr, y_val = train_test_split(X, dataset.y, test_size=0.25, stratify=dataset.y,
                                                random_state=args.seed)
    results = {}
    for t in study.ranked(args.confirm):
        model = template.keras_model(t.config, input_shape, dataset.n_classes, seed=args.seed)
        model.compile(optimizer=optimizer(t.config), loss="sparse_categorical_crossentropy")
        with without_input_autotune():
            model.fit(X_tr, y_tr, epochs=args.epochs, batch_size=args.batch_size, verbose=0)
        try:
            report, files = confirm(model, target, dtype, X_val, y_val, representative=X_tr, seed=args.seed,
                                    runtime=get_runtime(args.runtime), compression=compression,
                                    margin=args.margin, labels=list(dataset.classes),
                                    latency_budget_ms=args.latency_ms, energy_budget_uj=args.energy_uj)
        except ToolchainError as exc:
            print(f"  trial {t.number}: rejected by the toolchain: {exc}", file=sys.stderr)
            results[t.number] = {"deployable": False, "violations": [str(exc)]}
            continue
        verdict = "accepted" if report["deployable"] else "rejected: " + "; ".join(report["violations"])
        m = report["measured"] or report["predicted"]
        print(f"  trial {t.number}: RAM {m['ram_bytes']:,} B, Flash {m['flash_bytes']:,} B "
              f"({verdict_source_text(report['verdict_source'])}), X-CROSS {100 * report['cross_accuracy']['acc']:.1f} % "
              f"on {report['cross_accuracy']['n']} samples -> {verdict}", file=sys.stderr)
        report = {**report, "config": t.config, "trial": t.number, "kfold_accuracy": t.value}
        results[t.number] = report
        if report["deployable"]:
            try:
                kept = write_export(args.out, files, report)
                if kept:
                    print(replaced_note(args.out, kept), file=sys.stderr)
            except AutoTinyMLError as exc:
                print(f"autotinyml: {exc}", file=sys.stderr)
                return results, None
            return results, str(args.out)
    return results, None


def add_parser(sub) -> None:
    d = SearchOptions()  # the defaults, in one place
    p = sub.add_parser("search", help="find the most accurate network that deploys on the target")
    p.add_argument("--dataset", default=d.dataset,
                   help="har-basicmotions (default), har-watch, digits, or an .npz/.csv file")
    p.add_argument("--label", default=None, help="har-watch labels: exercise (default) or subject")
    p.add_argument("--space", default=d.space,
                   help="default: the space for the data's shape (ds-cnn for images of 16x16 or more, ds-cnn-1d for "
                        "sensor windows, paper-har otherwise - the papers' space); or a built-in template ("
                        f"{', '.join(TEMPLATES)}), a Python file with build(hp) (docs/your-own-model.md), or a TOML "
                        "file narrowing a template")
    p.add_argument("--target", default=d.target, help="board name or alias (default: the papers' tiny board)")
    p.add_argument("--target-file", help="TOML file with extra boards (the catalogue's layout)")
    add_runtime(p, "; the winner is judged and exported for it (tflm: confirmed by real tflite-micro; xcubeai: "
                   "the papers' X-CUBE-AI setting)")
    add_dtype(p, "deployed type (default int8 for tflm, float32 for xcubeai)")
    add_compression(p, extra=" (default x8 for float32 xcubeai, as in the papers' tiny-board runs)")
    p.add_argument("--margin", type=float, default=None, metavar="PCT",
                   help="safety margin in %% on memsim's RAM and Flash (default: the runtime profile's calibrated one)")
    add_budget(p, "latency")
    add_budget(p, "energy")
    p.add_argument("--trainings", type=int, default=d.trainings, help="training budget (default 10)")
    p.add_argument("--method", default=d.method, choices=sorted(cbo.SAMPLERS),
                   help="exact-ei (default: Bayesian optimisation with expected improvement over memsim's exact "
                        "deployable set, the best in benchmarks/RESULTS.md), exact-ucb (the same with UCB), svmcbo "
                        "(the papers' SVM-CBO), or a baseline: random, grid, feasible-random, bo")
    p.add_argument("--labels", type=int, default=None,
                   help=f"--method svmcbo only: Phase-1 memsim labels after the initial design "
                        f"(default {DEFAULT_PHASE1_LABELS})")
    p.add_argument("--study", default=None,
                   help=f"SQLite study file; an existing one is continued (default: {DEFAULT_STUDY_DIR}/<settings>.sqlite)")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the sampler, the folds and the training (default 0)")
    p.add_argument("--k", type=int, default=d.k, help="folds of the cross-validated accuracy (default 3)")
    p.add_argument("--epochs", type=int, default=d.epochs, help="training epochs per fold (default 20)")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="training batch size (default 16)")
    p.add_argument("--baseline", action="store_true", help="also train the template's baseline configuration")
    p.add_argument("--confirm", type=int, default=d.confirm,
                   help="confirm up to this many finalists with the runtime's toolchain; 0 skips it (default 3)")
    p.add_argument("--out", default=d.out, help="where the confirmed winner is exported "
                                                              "(default ./autotinyml-export)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="train N configurations at a time on a local Dask cluster of N processes (needs dask)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="train on an existing Dask cluster (e.g. tcp://host:8786); the study file stays here")
    p.add_argument("--parallel", type=int, default=None, metavar="Q",
                   help="with a cluster: trainings running at once (default: its worker slots)")
    p.add_argument("--trial-timeout", type=float, default=None, metavar="SECONDS",
                   help="with a cluster: a training running longer is recorded as failed and its worker restarted")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.set_defaults(func=cmd_search)
