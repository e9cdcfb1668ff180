"""requirements.lock (what `make install` installs) pins every dependency pyproject.toml names, within its bounds."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import requires
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


def locked() -> dict[str, str]:
    """name -> pinned version, from requirements.lock."""
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if match := _PIN.match(line):
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def declared() -> list[Requirement]:
    """Runtime, dev and build requirements as pyproject.toml states them (for this Python)."""
    texts = [*PYPROJECT["project"]["dependencies"], *PYPROJECT["project"]["optional-dependencies"]["dev"],
             *PYPROJECT["build-system"]["requires"]]
    return [r for r in map(Requirement, texts) if r.marker is None or r.marker.evaluate({"extra": "dev"})]


def test_the_lock_pins_each_declared_dependency_within_its_bounds():
    pins = locked()
    missing = [str(r) for r in declared() if canonicalize_name(r.name) not in pins]
    assert not missing, f"not in requirements.lock (run `make lock`): {missing}"
    outside = [f"{r} but locked {pins[canonicalize_name(r.name)]}" for r in declared()
               if not r.specifier.contains(pins[canonicalize_name(r.name)], prereleases=True)]
    assert not outside, f"requirements.lock is outside pyproject.toml's bounds (run `make lock`): {outside}"


def test_the_lock_pins_what_a_requested_extra_brings():
    # psycopg[binary] needs psycopg-binary: without it the driver looks for a system libpq at run time.
    pins = locked()
    for requirement in declared():
        for extra in requirement.extras:
            for text in requires(requirement.name) or []:
                brought = Requirement(text)
                if brought.marker is not None and brought.marker.evaluate({"extra": extra}):
                    assert canonicalize_name(brought.name) in pins, f"{requirement} brings {brought.name}"


def test_every_runtime_dependency_has_an_upper_bound():
    unbounded = [text for text in PYPROJECT["project"]["dependencies"]
                 if not any(spec.operator in ("<", "<=", "==", "~=") for spec in Requirement(text).specifier)]
    assert not unbounded, f"runtime dependencies with no upper bound: {unbounded}"


def test_the_build_backend_is_named_once():
    dev = {canonicalize_name(Requirement(t).name) for t in PYPROJECT["project"]["optional-dependencies"]["dev"]}
    backend = {canonicalize_name(Requirement(t).name) for t in PYPROJECT["build-system"]["requires"]}
    assert not dev & backend, "the build backend belongs in [build-system] only (the lock installs it for dev)"
