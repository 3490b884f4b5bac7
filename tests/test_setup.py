"""The project's own set-up: two commands, two dependency lists in step, CI."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _names(requirements):
    return {re.split(r"[<>=!~ ]", r, maxsplit=1)[0].strip().lower()
            for r in requirements}


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]["test"]
    wanted = set(project["dependencies"]) | set(extras)
    text = (ROOT / "environment.yml").read_text()
    section = text.split("dependencies:", 1)[1]
    conda = set()
    for line in section.splitlines():
        item = line.strip()
        if item.startswith("- ") and not item.endswith(":") and "-e ." not in item:
            conda.add(item[2:].strip())
    conda = {c for c in conda if not c.startswith(("python", "pip"))}
    assert conda == wanted, "environment.yml and pyproject.toml disagree"


def test_readme_gives_exactly_two_setup_commands():
    readme = (ROOT / "README.md").read_text()
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", setup, re.S)
    commands = [line for block in blocks for line in block.splitlines() if line]
    assert commands == ["python3 tasks.py course", "python3 tasks.py test"]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 tasks.py test" in ci.splitlines()[-1]
