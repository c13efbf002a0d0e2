"""Do re-runs reproduce the committed bench_peers runs? Per method and setting: how many seeds took the same path,
where the others left it, and the best deployable accuracy then and now.

Run:  python benchmarks/compare_runs.py benchmarks/cache/rerun-2026-12-01
      python benchmarks/compare_runs.py NEW_DIR [--reference benchmarks/cache]

Both folders hold bench_peers caches (``peers-<task>-<board>.jsonl``); only their finished runs are read, and a run
is compared with the reference's run of the same method, budget, seed and setting. A path is the sequence of
configurations trained; it leaves the reference's at the first training that differs. Trains nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


from bench_peers import CACHE_DIR, curve, is_current_run, mean_std  # noqa: E402


def stored_runs(path: Path) -> dict:
    """(method@budget, seed, setting as JSON) -> run row, for the runs that count (bench_peers' rule)."""
    runs = {}
    for line in path.read_text().splitlines():
        row = json.loads(line)
        if is_current_run(row):
            runs[(row["method"], row["seed"], json.dumps(row.get("setting"), sort_keys=True))] = row
    return runs


def first_difference(old: list, new: list) -> int | None:
    """The index of the first training whose configuration differs, None if the paths are the same."""
    keys = lambda trace: [t["key"] for t in trace]  # noqa: E731
    a, b = keys(old), keys(new)
    for i, (x, y) in enumerate(zip(a, b, strict=False)):  # a cut-off run is shorter
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def compare(new_dir: Path, reference: Path, budgets: list[int]) -> list[str]:
    """Markdown rows per cache, method and budget (a shorter budget is the first trainings of a run): seeds
    compared, how many took the same path, where the others left it, best deployable accuracy then and now."""
    lines = ["| cache | method | trainings | seeds | same path | left it at training | best then | best now |",
             "|---|---|---|---|---|---|---|---|"]
    libraries = set()
    for path in sorted(new_dir.glob("peers-*.jsonl")):
        ref_path = reference / path.name
        if not ref_path.exists():
            continue
        new, old = stored_runs(path), stored_runs(ref_path)
        by_method: dict = {}
        for key in sorted(k for k in new if k in old):
            by_method.setdefault(key[0].rsplit("@", 1)[0], []).append((old[key]["trace"], new[key]["trace"]))
            if new[key].get("libraries"):  # runs stored before 2026-12-01 did not keep them
                libraries.add(json.dumps(new[key]["libraries"], sort_keys=True))
        for method, pairs in by_method.items():
            for b in budgets:
                both = [(o[:b], n[:b]) for o, n in pairs if len(o) >= b and len(n) >= b]
                if not both:
                    continue
                left = [d + 1 for d in (first_difference(o, n) for o, n in both) if d is not None]  # 1-based
                then, now = [curve(o)[-1] for o, _ in both], [curve(n)[-1] for _, n in both]
                lines.append(f"| {path.stem} | {method} | {b} | {len(both)} | {len(both) - len(left)} | "
                             f"{', '.join(map(str, left)) or '-'} | {mean_std(then, 100)} | {mean_std(now, 100)} |")
    for libs in sorted(libraries):
        lines.append(f"\n(re-runs' libraries: {', '.join(f'{k} {v}' for k, v in json.loads(libs).items() if v)})")
    return lines


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("new_dir", type=Path, help="folder of the re-runs' caches")
    ap.add_argument("--reference", type=Path, default=CACHE_DIR, help="folder of the committed caches")
    ap.add_argument("--budgets", default="20,40", help="comma-separated training budgets")
    args = ap.parse_args(argv)
    if not args.new_dir.is_dir():
        sys.exit(f"compare_runs: {args.new_dir} is not a folder of bench_peers caches; pass the folder the re-runs "
                 "wrote (their --cache files' folder).")
    print("\n".join(compare(args.new_dir, args.reference, [int(b) for b in args.budgets.split(",")])))


if __name__ == "__main__":
    main()
