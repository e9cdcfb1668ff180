import pytest

from voc.config import get_settings


@pytest.fixture(autouse=True)
def _no_cooldown(monkeypatch):
    """The same customer may answer several surveys in a row in these tests."""
    monkeypatch.setenv("VOC_CONTACT_COOLDOWN_DAYS", "0")
    get_settings.cache_clear()
