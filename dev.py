#!/usr/bin/env python3
"""Set up a virtual environment in .venv and run a task in it. Needs only python3.

    python3 dev.py demo    # install, then build and serve the offline demo
    python3 dev.py test    # install, then ruff, mypy and the test suite
    python3 dev.py bench   # install, then the benchmarks (writes docs/benchmarks.md)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def run(*args: str | Path) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True)


def setup(extras: str) -> None:
    stamp = VENV / f".installed-{extras}"
    pyproject = ROOT / "pyproject.toml"
    if stamp.exists() and stamp.stat().st_mtime >= pyproject.stat().st_mtime:
        return
    if not PY.exists():
        try:
            venv.create(VENV, with_pip=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            shutil.rmtree(VENV, ignore_errors=True)  # never leave a venv without pip behind
            raise SystemExit(
                f"could not create {VENV} with pip ({exc}). On Debian or Ubuntu install the venv "
                "module first: sudo apt-get install python3-venv; then run this command again."
            ) from exc
    run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PY, "-m", "pip", "install", "--quiet", "-e", f".[{extras}]" if extras else ".")
    stamp.touch()


def main(argv: list[str]) -> int:
    task = argv[0] if argv else "help"
    rest = argv[1:]
    try:
        if task == "demo":
            setup("")
            run(BIN / "aggregator", "--config", "feeds/demo/config.yaml", "demo", *rest)
        elif task == "test":
            setup("test")
            run(BIN / "ruff", "check", "aggregator", "tests", "benchmarks", "dev.py")
            run(BIN / "mypy")
            run(PY, "-m", "pytest", *rest)
        elif task == "bench":
            setup("test,bench")
            for script in sorted((ROOT / "benchmarks").glob("*.py")):
                if not script.name.startswith("_"):
                    run(PY, script, *rest)
        else:
            print(__doc__)
            return 0 if task == "help" else 2
    except subprocess.CalledProcessError as exc:
        return exc.returncode or 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
