"""A study's figures for reports: its trials read back (``load_study``), plots (convergence, accuracy against RAM and
Flash, the deployable region, the winner's buffer timeline) and the "which board does this accuracy need" table.

Nothing is retrained: every figure comes from the stored trials, and memsim re-judges them where a picture needs
figures the study did not store (other boards, the winner's buffer layout). matplotlib is imported only to draw.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

import cbo
import memsim
from cbo.tinyml.constraint import MemsimConstraint
from cbo.tinyml.datasets import load_dataset
from cbo.tinyml.templates import Template, get_template
from memsim import get_runtime
from targets import AutoTinyMLError, Target, format_size, get_target, list_targets

__all__ = ["StudyRecord", "board_table", "load_study", "plot_accuracy_vs", "plot_convergence", "plot_curves",
           "plot_region", "plot_timeline"]


@dataclass
class StudyRecord:
    """One study as the report needs it."""

    path: Path
    meta: dict
    trials: list
    template: Template
    target: Target
    input_shape: tuple
    n_classes: int

    @property
    def label(self) -> str:
        return f"{self.meta.get('method', '?')} seed {self.meta.get('seed', '?')}"

    def trained(self) -> list:
        return [t for t in self.trials if t.state in (cbo.TrialState.COMPLETE, cbo.TrialState.FAIL)]

    def curve(self) -> list[float]:
        """Best deployable accuracy after each training (0 until one is found)."""
        best, out = 0.0, []
        for t in self.trained():
            if t.state == cbo.TrialState.COMPLETE and t.feasible is not False and t.value is not None:
                best = max(best, t.value)
            out.append(best)
        return out

    def constraint(self, target) -> MemsimConstraint:
        return MemsimConstraint(self.template, self.input_shape, self.n_classes, target, self.meta["runtime"],
                                self.meta["dtype"], self.meta.get("compression", "none"), self.meta.get("margin"),
                                self.meta.get("latency_ms"), self.meta.get("energy_uj"))

    def best(self):
        ok = [t for t in self.trials if t.state == cbo.TrialState.COMPLETE and t.feasible is not False
              and t.value is not None]
        return max(ok, key=lambda t: (t.value, -t.number)) if ok else None


def load_study(path: "str | Path") -> StudyRecord:
    """Read a study file made by `autotinyml search` (read-only; a running search may hold it)."""
    path = Path(path)
    if path.is_dir():
        inside = sorted(p.name for p in path.glob("*.sqlite"))
        listed = f"it holds {', '.join(inside[:3])}{' ...' if len(inside) > 3 else ''}" if inside else \
            "it holds no .sqlite study file"
        raise AutoTinyMLError(f"{str(path)!r} is a folder ({listed}); pass study files, e.g. "
                              f"autotinyml report {str(path / '*.sqlite')}.")
    if not path.is_file():
        raise AutoTinyMLError(f"Study file {str(path)!r} does not exist; pass the .sqlite file a search wrote "
                              "(default folder autotinyml-studies/).")
    with path.open("rb") as f:
        is_sqlite = f.read(16) == b"SQLite format 3\x00"
    try:
        if not is_sqlite:  # checked first: opening would turn an empty file into a database
            raise cbo.StorageError(path)
        storage = cbo.SQLiteStorage(path, exclusive=False)
    except cbo.StorageError:
        raise AutoTinyMLError(f"{str(path)!r} is not a study database; pass the .sqlite file a search wrote "
                              "(default folder autotinyml-studies/).") from None
    try:
        meta, trials = storage.get_meta(), storage.trials()
    finally:
        storage.close()
    if not meta or "template" not in meta:
        raise AutoTinyMLError(f"Study file {str(path)!r} holds no search settings; only studies written by "
                              "`autotinyml search` or `autotinyml experiment` can be reported.")
    if "space_file" in meta:  # a Python space: its build(hp) makes the networks
        from cbo.tinyml.python_space import load_python_space

        if not Path(meta["space_file"]).is_file():
            raise AutoTinyMLError(f"Study file {str(path)!r} was searched over {meta['space_file']!r}, which no "
                                  "longer exists; put the file back to report this study.")
        template = load_python_space(meta["space_file"], (meta["sample_shape"], int(meta["n_classes"])))
    else:
        base = get_template(meta["template"].split(":")[0])
        template = replace(base, name=meta["template"], space=cbo.Space.from_dict(meta["space"]))
    if "input_shape" in meta:
        shape, n_classes = tuple(meta["input_shape"]), int(meta["n_classes"])
    else:  # studies written before the shape was stored: ask the dataset
        ds = load_dataset(meta["dataset"], meta.get("label"))
        shape, n_classes = template.input_shape(ds.sample_shape), ds.n_classes
    return StudyRecord(path, meta, trials, template, get_target(meta["target"]), shape, n_classes)


# -- pictures ------------------------------------------------------------------------------------------------------
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(curves_by_method: dict, title: str, path: Path, budget_lines=(), zoom: bool = False) -> Path:
    """Best deployable accuracy (0-1) vs trainings: per method the mean over seeds, a min-max band. ``zoom`` adds a
    second panel on the top 10 points, where methods that all find good networks differ."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2 if zoom else 1, figsize=(12 if zoom else 7, 4.4), squeeze=False)
    colours = plt.get_cmap("tab20").colors
    styles = ["-", "--", "-.", ":"]
    tops = []
    for ax in axes[0]:
        for k, (method, curves) in enumerate(sorted(curves_by_method.items())):
            curves = [c for c in curves if c]
            if not curves:
                continue
            n = max(len(c) for c in curves)
            padded = np.array([c + [c[-1]] * (n - len(c)) for c in curves]) * 100
            x = np.arange(1, n + 1)
            colour = colours[(2 * k) % 20 if k < 10 else (2 * k + 1) % 20]
            ax.plot(x, padded.mean(0), ls=styles[k % len(styles)], marker="o", ms=2.5, lw=1.4, color=colour,
                    label=f"{method} ({len(curves)} seed{'s' * (len(curves) > 1)})")
            if len(curves) > 1:
                ax.fill_between(x, padded.min(0), padded.max(0), alpha=0.12, color=colour)
            tops.append(float(padded.mean(0)[-1]))
        for b in budget_lines:
            ax.axvline(b, color="gray", lw=0.8, ls=":")
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.set_xlabel("trainings")
        ax.set_ylabel("best deployable accuracy (%)")
        ax.grid(alpha=0.3)
    axes[0][0].set_title(title, fontsize=10)
    if zoom and tops:
        top = max(tops)
        axes[0][1].set_ylim(top - 10, top + 1)
        axes[0][1].set_title("the same, top 10 points", fontsize=10)
        axes[0][1].legend(fontsize=7, ncol=2, loc="lower right")
    else:
        axes[0][0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_convergence(records: list[StudyRecord], out: Path) -> Path:
    """Best deployable accuracy vs trainings: one line per method (mean over seeds) with a min-max band."""
    by_method: dict[str, list[list[float]]] = {}
    for r in records:
        by_method.setdefault(r.meta.get("method", "?"), []).append(r.curve())
    r0 = records[0]
    return plot_curves(by_method, f"{r0.meta['dataset']} on {r0.target.name} ({r0.meta['runtime']}, "
                                  f"{r0.meta['dtype']})", out / "convergence.png")


def plot_accuracy_vs(records: list[StudyRecord], what: str, out: Path) -> Path:
    """Accuracy of every trained trial against its RAM (or Flash), the board's limits drawn."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    key = "ram_bytes" if what == "ram" else "flash_bytes"
    for deployable, colour, name in ((True, "tab:green", "deployable"), (False, "tab:red", "not deployable")):
        xs, ys = [], []
        for r in records:
            for t in r.trained():
                if t.value is not None and key in t.footprint and (t.feasible is not False) == deployable:
                    xs.append(t.footprint[key] / 1024)
                    ys.append(100 * t.value)
        ax.scatter(xs, ys, s=18, c=colour, alpha=0.7, label=f"{name} ({len(xs)})")
    board = records[0].target
    if what == "ram":
        ax.axvline(board.ram_bytes / 1024, color="k", ls="--", lw=1, label=f"{board.name} RAM {board.ram_bytes:,} B")
        if board.largest_region_bytes != board.ram_bytes:
            ax.axvline(board.largest_region_bytes / 1024, color="gray", ls=":", lw=1,
                       label=f"largest SRAM region {board.largest_region_bytes:,} B")
    else:
        ax.axvline(board.flash_bytes / 1024, color="k", ls="--", lw=1,
                   label=f"{board.name} Flash {board.flash_bytes:,} B")
    ax.set_xscale("log")
    ax.set_xlabel(f"{'RAM' if what == 'ram' else 'Flash'} predicted by memsim (KiB, log scale)")
    ax.set_ylabel("k-fold accuracy (%)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = out / f"accuracy_vs_{what}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _numeric_params(space) -> list:
    return [p for p in space.params if not isinstance(p, cbo.Categorical) and p.condition is None]


def plot_region(record: StudyRecord, out: Path, params: "tuple[str, str] | None" = None) -> "Path | None":
    """memsim's exact deployable region on two hyperparameters (the others at the winner's values) with the
    study's labelled points, and, where the study has labels of both kinds (SVM-CBO's Phase 1), the SVM's estimate
    from them; searches that ask memsim directly (exact-ei, exact-ucb) have no estimate to show."""
    from cbo._surrogates import DeployableRegion

    space = record.template.space
    labelled = [t for t in record.trials if t.feasible is not None]
    numeric = _numeric_params(space)
    if params is None:
        if len(numeric) < 2:
            return None
        params = (numeric[0].name, numeric[-1].name) if len(numeric) > 2 else (numeric[0].name, numeric[1].name)
    best = record.best() or (labelled[0] if labelled else None)
    if best is None:
        return None
    X = space.encode_many([t.config for t in labelled])
    y = np.array([1 if t.feasible else -1 for t in labelled])
    region = DeployableRegion().fit(X, y) if len(set(y.tolist())) == 2 else None
    names = list(space.names)
    offsets = np.cumsum([0] + [p.width for p in space.params])
    ia, ib = (int(offsets[names.index(n)]) for n in params)
    base = space.encode(best.config)
    g = np.linspace(0, 1, 80)
    A, B = np.meshgrid(g, g)
    grid = np.repeat(base[None, :], A.size, 0)
    grid[:, ia], grid[:, ib] = A.ravel(), B.ravel()
    dec = None if region is None else region.decision(grid).reshape(A.shape)
    pa, pb = space[params[0]], space[params[1]]
    la, lb = pa.levels(9), pb.levels(9)
    truth = []
    constraint = record.constraint(record.target)
    for va in la:
        for vb in lb:
            cfg = space.validate_config({**best.config, params[0]: va, params[1]: vb})
            e = space.encode(cfg)
            truth.append((e[ia], e[ib], constraint(cfg)[0]))
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.2, 5))
    if dec is not None:
        ax.contourf(A, B, dec >= 0, levels=[-0.5, 0.5, 1.5], colors=["#f6d5d5", "#d7efd7"], alpha=0.9)
        ax.contour(A, B, dec, levels=[0], colors="k", linewidths=1)
    tx = np.array(truth, dtype=float)
    ok = tx[:, 2] > 0
    ax.scatter(tx[ok, 0], tx[ok, 1], marker="s", s=60, facecolors="none", edgecolors="tab:green",
               label="memsim: fits (this slice)")
    ax.scatter(tx[~ok, 0], tx[~ok, 1], marker="x", s=40, c="tab:red", label="memsim: does not fit")
    feas = y > 0
    ax.scatter(X[feas, ia], X[feas, ib], s=12, c="tab:green", alpha=0.5, label=f"study: deployable ({feas.sum()})")
    ax.scatter(X[~feas, ia], X[~feas, ib], s=12, c="tab:red", alpha=0.5,
               label=f"study: undeployable ({(~feas).sum()})")
    ax.set_xticks(sorted({float(space.encode({**best.config, params[0]: v})[ia]) for v in la}))
    ax.set_xticklabels([str(v) for v in la], fontsize=8)
    ax.set_yticks(sorted({float(space.encode({**best.config, params[1]: v})[ib]) for v in lb}))
    ax.set_yticklabels([str(v) for v in lb], fontsize=8)
    ax.set_xlabel(params[0])
    ax.set_ylabel(params[1])
    what = "SVM estimate (shaded, border black) and memsim" if dec is not None else "memsim's exact answer"
    ax.set_title(f"Deployable region on {record.target.name}: {what}\n"
                 f"other parameters at trial {best.number}'s values", fontsize=9)
    ax.legend(fontsize=7, loc="upper right", framealpha=0.9)
    fig.tight_layout()
    path = out / "region.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_timeline(record: StudyRecord, out: Path) -> "Path | None":
    """The winner's activation buffers as the runtime places them: step on x, offset on y; the peak marked."""
    from memsim import graph_from_spec
    from memsim.profiles import get_profile

    best = record.best()
    if best is None:
        return None
    graph = graph_from_spec(record.template.spec(best.config, record.input_shape, record.n_classes))
    plan = get_profile(record.meta["runtime"]).activation_plan(graph, record.meta["dtype"])
    buffers = [b for b in plan.buffers if b.size > 0]
    if not buffers:
        return None
    steps = range(min(b.first for b in buffers), max(b.last for b in buffers) + 1)
    live = {s: sum(b.size for b in buffers if b.first <= s <= b.last) for s in steps}
    peak = max(live, key=live.get)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    cmap = plt.get_cmap("tab20")
    placed = [b for b in buffers if b.offset >= 0]
    for i, b in enumerate(placed):
        at_peak = b.first <= peak <= b.last
        ax.add_patch(plt.Rectangle((b.first - 0.4, b.offset), b.last - b.first + 0.8, b.size,
                                   facecolor=cmap(i % 20), edgecolor="k" if at_peak else "none",
                                   lw=1.2 if at_peak else 0, alpha=0.9 if at_peak else 0.55))
        if at_peak:
            ax.text(b.first - 0.3, b.offset + b.size / 2, f"{b.name[:22]} {b.size:,} B", fontsize=6, va="center")
    top = max((b.offset + b.size for b in placed), default=plan.pool_bytes)
    ax.axhline(plan.pool_bytes, color="k", ls="--", lw=1)
    ax.axvline(peak, color="tab:red", lw=1, alpha=0.6)
    ax.set_xlim(min(steps) - 1, max(steps) + 1)
    ax.set_ylim(0, max(top, plan.pool_bytes) * 1.08)
    ax.set_xlabel(f"operator step ({record.meta['runtime']} lowering)")
    ax.set_ylabel("offset in the activation pool (B)")
    ax.set_title(f"Trial {best.number}: {format_size(plan.pool_bytes)} pool; peak at step {peak} "
                 f"(outlined buffers are live there)", fontsize=9)
    fig.tight_layout()
    path = out / "memory_timeline.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# -- tables --------------------------------------------------------------------------------------------------------
def board_table(records: list[StudyRecord]) -> list[dict]:
    """For every board of the catalogue, the most accurate trained trial that memsim says fits it."""
    trained = sorted(((t, r) for r in records for t in r.trained() if t.value is not None
                      and t.state == cbo.TrialState.COMPLETE), key=lambda tr: -tr[0].value)
    rows = []
    for board in sorted(list_targets(), key=lambda b: (b.ram_bytes, b.flash_bytes)):
        row = {"board": board.name, "ram_bytes": board.ram_bytes, "region_bytes": board.largest_region_bytes,
               "flash_bytes": board.flash_bytes, "trial": None}
        runtime = get_runtime(records[0].meta["runtime"]) if records else None
        if runtime is not None and not runtime.runs_on(board):
            rows.append({**row, "none": f"{runtime.name} does not run on {board.vendor} parts"})
            continue
        if any(r.meta.get("energy_uj") is not None for r in records) and \
                board.name not in memsim.time_model().data["board_power"]:
            rows.append({**row, "none": "no published power to judge the energy budget on"})
            continue
        judges = {id(r): r.constraint(board) for r in records}
        for t, r in trained:
            ok, fp = judges[id(r)](t.config)
            if ok:
                row.update(trial=t.number, study=r.path.name, accuracy=t.value, pred_ram=fp["ram_bytes"],
                           pred_flash=fp["flash_bytes"], latency_ms=fp["latency_ms"],
                           latency_high_ms=fp["latency_high_ms"])
                break
        rows.append(row)
    return rows
