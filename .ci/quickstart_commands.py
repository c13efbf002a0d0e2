"""Prints the commands of README's "Quick start" section, one per line, in README's order.

Every ```bash block of that section must be a single line: CI runs each with `bash -euo pipefail -c`, and a
newcomer pastes each as one command.
"""

import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
section = re.search(r"^## Quick start\n(.*?)(?=^## )", text, re.S | re.M)
if section is None:
    sys.exit("README has no '## Quick start' section")
for block in re.findall(r"^```bash\n(.*?)^```", section.group(1), re.S | re.M):
    lines = [line for line in block.strip().splitlines() if line.strip()]
    if len(lines) != 1:
        sys.exit(f"a quick-start block must hold one command line, not {len(lines)}: {block!r}")
    print(lines[0])
