"""Set up dsim in a local virtual environment, then open the course or test it.

    python3 tasks.py course   # install into .venv, open JupyterLab on 127.0.0.1
    python3 tasks.py test     # install into .venv, run the whole test suite

Only the Python standard library is used here, so a machine with nothing but
Python 3 can run it. The environment is rebuilt when pyproject.toml changes.
"""

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".dsim-installed"


def _wanted_stamp():
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    return digest.hexdigest()


def ensure_env():
    """Create .venv and install dsim with its test extra, once per pyproject."""
    if STAMP.exists() and STAMP.read_text() == _wanted_stamp():
        return
    if not PYTHON.exists():
        print("Creating the virtual environment in .venv ...", flush=True)
        try:
            venv.create(VENV, with_pip=True)
        except Exception as exc:  # ensurepip missing on some distributions
            sys.exit(
                f"Could not create .venv ({exc}). On Debian or Ubuntu, install "
                "the venv module first: apt-get install python3-venv"
            )
    print("Installing dsim and its dependencies into .venv ...", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet",
           "--disable-pip-version-check"]
    subprocess.run(pip + ["--upgrade", "pip"], check=True)
    subprocess.run(pip + ["-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(_wanted_stamp())


def course(args):
    """Open the course in JupyterLab, on the loopback address, token on."""
    ensure_env()
    cmd = [
        str(BIN / "jupyter"), "lab",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={ROOT / 'notebooks'}",
        "--LabApp.default_url=/lab/tree/00_start_here.ipynb",
        *args,
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers often run as root; serving stays local
    os.execv(cmd[0], cmd)


def test(args):
    """Run the whole test suite: units, properties, notebooks, browser."""
    ensure_env()
    cmd = [str(PYTHON), "-m", "pytest", "-n", "2", *args]
    sys.exit(subprocess.run(cmd, cwd=ROOT).returncode)


COMMANDS = {"course": course, "test": test}


def main(argv):
    if len(argv) < 1 or argv[0] not in COMMANDS:
        sys.exit(f"usage: python3 tasks.py {{{'|'.join(COMMANDS)}}} [extra args]")
    COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
