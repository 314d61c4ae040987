from types import SimpleNamespace

from django.conf import settings

# The design system's own context processor reads its configuration from the database
# on every page; ours is static, so it costs no query.
_SITE_CONFIG = SimpleNamespace(
    site_title=settings.SITE_TITLE,
    site_tagline=settings.SITE_TAGLINE,
    header_brand_html="République<br>française",
    footer_brand_html="République<br>française",
    footer_description="",
    beta_tag=True,
    mourning=False,
    notice_title="",
    notice_description="",
)


def site_config(request):
    return {"SITE_CONFIG": _SITE_CONFIG}
