"""requirements.txt and environment.yml must offer the same packages at the same pins."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([A-Za-z0-9_.+-]+)$")


def pins(lines: list[str], source: str) -> dict[str, str]:
    found = {}
    for line in lines:
        match = PIN.match(line.strip())
        assert match, f"{source}: {line!r} is not an exact name==version pin"
        found[match[1].lower()] = match[2]
    return found


def requirement_pins() -> dict[str, str]:
    lines = [line.split("#")[0] for line in (ROOT / "requirements.txt").read_text().splitlines()]
    return pins([line for line in lines if line.strip()], "requirements.txt")


def environment_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, "environment.yml needs exactly one pip: section"
    return pins(pip_sections[0], "environment.yml")


def test_both_routes_pin_the_same_packages_and_versions():
    assert environment_pins() == requirement_pins()


def test_torch_is_pinned_exactly_to_the_cpu_wheel_version():
    assert requirement_pins()["torch"] == "2.13.0"


def test_every_environment_dependency_says_which_modules_need_it():
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if PIN.match(line.strip().lstrip("- ").split("#")[0].strip()):
            assert "#" in line and line.split("#", 1)[1].strip(), f"no comment on {line.strip()!r}"


def test_environment_python_matches_the_course_python():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
