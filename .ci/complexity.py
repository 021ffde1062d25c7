"""No function of the project above cyclomatic complexity 15, as radon counts it (every branch,
loop, boolean operator and comprehension condition). ruff's mccabe rule (C901) says the same
while one writes; this is the measure CI holds the code to."""

from __future__ import annotations

import sys
from pathlib import Path

from radon.complexity import cc_visit

LIMIT = 15
ROOT = Path(__file__).resolve().parent.parent
CHECKED = [ROOT / "app.py", ROOT / "migrations" / "env.py", *sorted((ROOT / "portal").rglob("*.py")),
           *sorted((ROOT / "bench").rglob("*.py"))]


def functions(blocks):
    """Every function, method and closure, at any depth."""
    for block in blocks:
        if hasattr(block, "methods"):
            continue  # a class: cc_visit lists its methods on their own as well
        yield block
        yield from functions(block.closures)


def main() -> int:
    over = [
        f"{path.relative_to(ROOT)}:{block.lineno} {block.fullname} has complexity {block.complexity}"
        for path in CHECKED
        for block in functions(cc_visit(path.read_text(encoding="utf-8")))
        if block.complexity > LIMIT
    ]
    print("\n".join(over) or f"no function above complexity {LIMIT} ({len(CHECKED)} files)")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
