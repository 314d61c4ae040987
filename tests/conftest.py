import pytest


@pytest.fixture(autouse=True)
def _fast_tests(settings, tmp_path):
    # A cheap hasher keeps the suite fast; uploaded files go to a throw-away folder.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
