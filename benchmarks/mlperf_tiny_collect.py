"""Collect MLPerf Tiny closed-division latency and energy into one CSV with the source of every figure.

    python benchmarks/mlperf_tiny_collect.py            # reads the fetched result repositories
    python benchmarks/mlperf_tiny_collect.py --check    # exit 1 if the committed CSV differs

Reads the git mirrors of ``mlcommons/tiny_results_v0.5`` ... ``v1.3`` (the ``fetch`` tool puts them under
``/work/.mirror``; ``--mirrors`` elsewhere) and writes ``benchmarks/data/mlperf_tiny.csv``: one row per
(round, submitter, system, task), latency = 1000 / the median throughput the EEMBC runner printed, energy = the
median energy per inference where the submission measured it. The CSV is committed, so the time model's fit and
its tests run without the mirrors.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

ROUNDS = ("0.5", "0.7", "1.0", "1.1", "1.2", "1.3")
OUT = Path(__file__).resolve().parent / "data" / "mlperf_tiny.csv"
COLUMNS = ("round", "submitter", "system", "task", "latency_ms", "energy_uj", "board", "soc", "processor",
           "clock_mhz", "accelerator", "framework", "repository", "commit", "performance_file", "energy_file",
           "system_file")

_THROUGHPUT = re.compile(r"Median throughput is\s+([0-9.]+)\s+inf\./sec")
_ENERGY = re.compile(r"Median energy cost is\s+([0-9.]+)\s+uJ/inf")
_TASK_DIRS = {"kws": "kws", "keyword_spotting": "kws", "vww": "vww", "visual_wake_words": "vww",
              "ic": "ic", "image_classification": "ic", "ad": "ad", "anomaly_detection": "ad"}


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, errors="replace").stdout


def _first_filled(pairs):
    """JSON object hook: some system files repeat a key, the second copy empty; keep the first filled value."""
    out = {}
    for key, value in pairs:
        key = key.strip()
        if key not in out or (not out[key] and value):
            out[key] = value
    return out


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _system_file(files: list[str], submitter: str, system: str) -> "str | None":
    """The system description a result directory belongs to: the JSON under ``systems/`` whose normalised name
    shares the longest prefix with the result directory's."""
    candidates = [f for f in files if f.startswith(f"closed/{submitter}/systems/") and f.endswith(".json")]
    key = _norm(system.replace("/", ""))

    def score(path: str) -> int:
        stem = _norm(Path(path).stem.replace("system_description", "").replace("System_Description", ""))
        common = 0
        for a, b in zip(key, stem):
            if a != b:
                break
            common += 1
        return common + (100 if stem == key else 0)

    best = max(candidates, key=score, default=None)
    return best if best is not None and score(best) >= 4 else (candidates[0] if len(candidates) == 1 else None)


def _clock_mhz(text: str) -> "float | None":
    m = re.search(r"([0-9.]+)\s*([GM])", text or "", re.I)
    if not m:
        return None
    value = float(m.group(1))
    return value * 1000 if m.group(2).upper() == "G" else value


def collect(mirrors: Path) -> list[dict]:
    rows = []
    for rnd in ROUNDS:
        repo = mirrors / f"mlcommons+tiny_results_v{rnd}" / "repo"
        if not repo.is_dir():
            sys.exit(f"{repo} is missing: fetch github:mlcommons/tiny_results_v{rnd} first.")
        commit = _git(repo, "rev-parse", "HEAD").strip()
        files = _git(repo, "ls-tree", "-r", "--name-only", "HEAD").splitlines()
        perf = [f for f in files if f.startswith("closed/") and "/results/" in f
                and re.search(r"/performance/[^/]*results\.txt$", f)]
        for path in sorted(perf):
            submitter, rest = path.split("/")[1], path.split("/results/", 1)[1]
            parts = rest.split("/")
            task_at = next((i for i, p in enumerate(parts) if p in _TASK_DIRS), None)
            if task_at is None:
                continue
            system = "/".join(parts[:task_at] + [p for p in parts[task_at + 1:-2]])
            task = _TASK_DIRS[parts[task_at]]
            m = _THROUGHPUT.search(_git(repo, "show", f"HEAD:{path}"))
            if not m or float(m.group(1)) <= 0:
                continue
            energy_path = next((f for f in files if f.startswith(path.rsplit("/performance/", 1)[0] + "/energy/")
                                and f.endswith("results.txt")), "")
            energy = ""
            if energy_path:
                e = _ENERGY.search(_git(repo, "show", f"HEAD:{energy_path}"))
                energy = f"{float(e.group(1)):.3f}" if e else ""
                energy_path = energy_path if e else ""
            sysfile = _system_file(files, submitter, system) or ""
            desc = {}
            if sysfile:
                try:
                    desc = json.loads(_git(repo, "show", f"HEAD:{sysfile}"), object_pairs_hook=_first_filled)
                except json.JSONDecodeError:
                    desc = {}
            framework = desc.get("Inference Framework") or desc.get("ML Model Compiler(s)") or ""
            libs = desc.get("Software Libraries") or ""
            if isinstance(libs, dict):
                libs = json.dumps(libs, sort_keys=True)
            rows.append({
                "round": rnd, "submitter": submitter, "system": system, "task": task,
                "latency_ms": f"{1000.0 / float(m.group(1)):.4f}", "energy_uj": energy,
                "board": desc.get("Board Name", ""), "soc": desc.get("SoC Name", ""),
                "processor": desc.get("Processor(s) Name", ""),
                "clock_mhz": _clock_mhz(desc.get("Processor(s) Frequencies", "")) or "",
                "accelerator": desc.get("Accelerator", "") or "",
                "framework": " | ".join(x for x in (str(framework), str(libs)) if x).strip(),
                "repository": f"github.com/mlcommons/tiny_results_v{rnd}", "commit": commit,
                "performance_file": path, "energy_file": energy_path, "system_file": sysfile})
    return rows


def _render(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (" ".join(str(v).split()) if isinstance(v, str) else v) for k, v in row.items()})
    return buf.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--check", action="store_true", help="compare with the committed CSV instead of writing")
    args = parser.parse_args(argv)
    text = _render(collect(args.mirrors))
    if args.check:
        same = OUT.exists() and OUT.read_text() == text
        print("benchmarks/data/mlperf_tiny.csv is current" if same else "benchmarks/data/mlperf_tiny.csv differs")
        return 0 if same else 1
    OUT.write_text(text)
    print(f"wrote {OUT.relative_to(Path.cwd()) if OUT.is_relative_to(Path.cwd()) else OUT}: "
          f"{text.count(chr(10)) - 1} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
