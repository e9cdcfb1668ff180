"""The built wheel carries templates, static files and migrations, and works outside the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_works_when_installed_elsewhere(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist"), str(ROOT)], check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("voc-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "voc/_resources/templates/survey/page.html" in names
    assert "voc/_resources/static/vendor/htmx.min.js" in names
    assert "voc/_resources/locale/de/LC_MESSAGES/messages.po" in names
    assert any(n.startswith("voc/_resources/migrations/versions/0001") for n in names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)  # Apache-2.0 travels with the code
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "VOC_DATABASE_URL": f"sqlite:///{elsewhere / 'voc.db'}"}
    script = ("import voc, voc.resources as r; from voc.db import migrate; migrate();"
              "from voc.web.templating import templates; templates.get_template('survey/page.html');"
              "from voc.web.i18n import gettext_functions; assert gettext_functions('de')['_']('Next') == 'Weiter';"
              "print(voc.__file__, r.resource_dir('static'))")
    out = subprocess.run([sys.executable, "-c", script], cwd=elsewhere, env=env, check=True,
                         capture_output=True, text=True).stdout
    assert str(site) in out and str(ROOT) not in out
    assert (elsewhere / "voc.db").exists()
