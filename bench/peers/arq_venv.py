"""The virtualenv arq runs in: arq 0.28 needs redis-py < 6, which the project does not.

`./dev` makes it while it sets up (as it installs everything else), so the benchmark,
and the test that runs it at tiny sizes, never pay for an install; `python -m bench`
makes it on first use when run otherwise.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARQ_VENV = ROOT / ".venv-arq"
ARQ_REQUIREMENTS = ("arq==0.28.0", "httpx>=0.28")


def ensure_arq_venv() -> Path:
    """The venv's python, after making the venv if it is missing."""
    python = ARQ_VENV / "bin" / "python"
    if not python.exists():
        # No pip inside it (ensurepip costs seconds): this pip installs into it.
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(ARQ_VENV)], check=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
             *ARQ_REQUIREMENTS],
            check=True,
        )  # fmt: skip
    return python


if __name__ == "__main__":
    print(ensure_arq_venv())
