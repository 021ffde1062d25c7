"""Fail when the locks and the requirement files disagree, or the virtualenv differs from the lock.

Run by `make check-lock` (and so by CI). Two checks:
1. Compiling the requirement files again, with the committed locks as the preferred versions, gives
   the committed locks byte for byte. An edited requirements.txt without `make lock` fails here.
2. Every distribution installed in this interpreter is in requirements-dev.lock at that version, and
   every lock entry whose environment marker applies here is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
COMPILE = [str(BIN / "uv"), "pip", "compile", "--quiet", "--universal", "--python-version", "3.11",
           "--generate-hashes", "--custom-compile-command", "make lock"]
LOCKS = {"requirements.lock": ["requirements.txt"],
         "requirements-dev.lock": ["requirements-dev.txt", "-c", "requirements.lock"]}
# The virtualenv's own installer comes with Python (ensurepip), not from the lock.
BOOTSTRAP = {"pip", "setuptools", "wheel"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def locks_match_requirements() -> list[str]:
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for lock, inputs in LOCKS.items():
            candidate = Path(tmp) / lock
            shutil.copy(ROOT / lock, candidate)  # the committed pins are the preferred versions
            compiled = subprocess.run([*COMPILE, *inputs, "-o", str(candidate)], cwd=ROOT)  # noqa: S603 fixed argv
            if compiled.returncode != 0 or candidate.read_text() != (ROOT / lock).read_text():
                problems.append(f"{lock} does not match its requirement files: run `make lock` and commit")
    return problems


def locked_here(lock: Path) -> dict[str, str]:
    """Name → version of the lock entries whose marker applies to this interpreter."""
    pins = {}
    for line in lock.read_text().splitlines():
        found = PIN.match(line)
        if found and (not found[3] or Marker(found[3]).evaluate()):
            pins[canonicalize_name(found[1])] = found[2]
    return pins


def installed_matches_lock() -> list[str]:
    locked = locked_here(ROOT / "requirements-dev.lock")
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    problems = [f"{name} {version} is installed but not in the lock"
                for name, version in sorted(installed.items())
                if name not in BOOTSTRAP and name not in locked]
    problems += [f"{name} is installed at {installed[name]}, the lock says {version}"
                 for name, version in sorted(locked.items())
                 if name in installed and installed[name] != version]
    problems += [f"{name} {version} is in the lock but not installed"
                 for name, version in sorted(locked.items()) if name not in installed]
    return problems


def main() -> int:
    problems = locks_match_requirements() + installed_matches_lock()
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print("Locks match the requirement files; the virtualenv matches the lock.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
