from django.urls import path

from . import health, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    # Public pages, linked from the footer of every page.
    path(
        "accessibilite/",
        views.PublicPage.as_view(template_name="core/pages/accessibility.html"),
        name="accessibility",
    ),
    path(
        "mentions-legales/",
        views.PublicPage.as_view(template_name="core/pages/legal_notice.html"),
        name="legal_notice",
    ),
    path(
        "donnees-personnelles/",
        views.PublicPage.as_view(template_name="core/pages/personal_data.html"),
        name="personal_data",
    ),
    path(
        "reglementation/",
        views.PublicPage.as_view(template_name="core/pages/regulation.html"),
        name="regulation",
    ),
    path(
        "questions-frequentes/",
        views.PublicPage.as_view(template_name="core/pages/faq.html"),
        name="faq",
    ),
    path(
        "plan-du-site/",
        views.PublicPage.as_view(template_name="core/pages/site_map.html"),
        name="site_map",
    ),
]
