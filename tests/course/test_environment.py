"""Do pyproject.toml and environment.yml ask for the same packages?"""

import re
import tomllib

from lessons import REPO


def normalise(requirement: str) -> str:
    requirement = requirement.split(";")[0].strip().lower().replace("_", "-")
    return re.sub(r"\s+", "", requirement)


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {normalise(r) for r in project["dependencies"] if "sys_platform != 'linux'" not in r}
    wanted |= {normalise(r) for r in project["optional-dependencies"]["dev"]}
    lines = (REPO / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    listed = {normalise(line.strip()[2:]) for line in lines[start + 1:] if line.strip().startswith("- ")}
    listed.discard("-e.")
    assert listed == wanted, (
        f"only in pyproject.toml: {sorted(wanted - listed)}; only in environment.yml: {sorted(listed - wanted)}"
    )
