"""A runtime is one object, resolved once: no code outside memsim/profiles/ decides anything by its name."""

import re
from pathlib import Path

import pytest

import memsim

ROOT = Path(__file__).resolve().parents[2]
NAMES = "|".join(re.escape(n) for n in ("tflm", "xcubeai", "xcubeai-time", "xcubeai-5", "stedgeai"))
# a name compared (==, !=, in, startswith) with anything: what a Runtime field says instead
COMPARED = re.compile(rf"""(==|!=)\s*["']({NAMES})["']|["']({NAMES})["']\s*(==|!=|in\b)|startswith\(\s*["']({NAMES})""")


def test_no_code_outside_the_profiles_compares_a_runtime_name():
    found = []
    for folder in ("memsim", "cbo", "targets", "validation", "autotinyml_cli", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.is_relative_to(ROOT / "memsim" / "profiles") or path.is_relative_to(ROOT / "benchmarks" / "cache"):
                continue  # (benchmarks/cache holds other commits' trees for the speed comparison)
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if COMPARED.search(line.split("#")[0]):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("asked, name, dtype, compression", [
    ("stedgeai", "xcubeai", "float32", "x8"), ("X-CUBE-AI", "xcubeai", "float32", "x8"),
    ("TFLM", "tflm", "int8", "none"), (None, memsim.DEFAULT_RUNTIME, "int8", "none"),
    ("xcubeai-time", "xcubeai-time", "float32", "x8"), ("xcubeai5", "xcubeai-5", "float32", "x8")])
def test_aliases_resolve_before_any_default_applies(asked, name, dtype, compression):
    # deployment_defaults once compared the string as typed: "stedgeai" got no weight sharing, "TFLM" float32
    assert memsim.get_runtime(asked).name == name
    assert memsim.deployment_defaults(asked) == (dtype, compression)


def test_one_default_runtime_for_the_library_and_every_command():
    import inspect

    from autotinyml_cli._options import CommandOptions
    from cbo.tinyml import MemsimConstraint

    net = [{"type": "Input", "shape": [8]}, {"type": "Dense", "units": 2}]
    assert memsim.footprint(net).runtime == memsim.DEFAULT_RUNTIME == CommandOptions().runtime
    assert MemsimConstraint.__init__.__defaults__[0] is None  # None: memsim's default, decided there
    assert inspect.signature(memsim.footprint).parameters["runtime"].default is None
