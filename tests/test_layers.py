"""Layers only point down: the import-linter contract in pyproject.toml holds, and it would catch an upward import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


def test_no_module_imports_a_layer_above_it():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Layers only point down KEPT" in result.stdout


def test_a_domain_importing_the_web_layer_breaks_the_contract(tmp_path):
    # A copy of voc in which the surveys domain reaches up into the dashboard, as voc/email once did.
    shutil.copytree(ROOT / "voc", tmp_path / "voc", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "voc" / "surveys" / "upward.py").write_text("from voc.web.templating import render  # noqa: F401\n")
    result = _lint_imports(tmp_path, PYTHONPATH=str(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Layers only point down BROKEN" in result.stdout
    assert "voc.surveys.upward -> voc.web.templating" in result.stdout
