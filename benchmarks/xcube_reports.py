"""memsim (xcubeai profile) vs the 13 real X-CUBE-AI >= 7.2 float32 reports rebuilt in the tests.

Run: python benchmarks/xcube_reports.py
"""

import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "memsim_tests"))

import memsim  # noqa: E402
from memsim.profiles import get_profile  # noqa: E402
from test_xcube_reports import REPORTS  # noqa: E402


def main():
    print(f"{'report':34s} {'MACC memsim/report':>25s} {'weights B memsim/report':>25s} "
          f"{'activations B memsim/report':>29s} {'err':>7s}")
    errs = []
    for name, (layers, comp, macc, transpose, weights, act) in sorted(REPORTS.items()):
        fp = memsim.footprint(layers, compression=comp)
        pool = get_profile("xcubeai").activation_plan(memsim.graph_from_spec(layers), "float32").pool_bytes
        err = 100 * (pool - act) / act
        errs.append(abs(err))
        print(f"{name:34s} {fp.macc + transpose:>12,}/{macc:>12,} {fp.weights_bytes:>12,}/{weights:>12,} "
              f"{pool:>14,}/{act:>14,} {err:+6.1f}%")
    print(f"MACC and weights: exact on {len(REPORTS)}/{len(REPORTS)}; activations |error| median "
          f"{statistics.median(errs):.1f} %, worst {max(errs):.1f} % (all errors are over-estimates)")


if __name__ == "__main__":
    main()
