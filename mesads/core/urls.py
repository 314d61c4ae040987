from django.urls import path

from . import health, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
]

# Public pages, linked from the footer of every page: (address, template, name).
PUBLIC_PAGES = [
    ("accessibilite/", "accessibility.html", "accessibility"),
    ("mentions-legales/", "legal_notice.html", "legal_notice"),
    ("donnees-personnelles/", "personal_data.html", "personal_data"),
    ("reglementation/", "regulation.html", "regulation"),
    ("questions-frequentes/", "faq.html", "faq"),
    ("plan-du-site/", "site_map.html", "site_map"),
]
urlpatterns += [
    path(route, views.PublicPage.as_view(template_name=f"core/pages/{template}"), name=name)
    for route, template, name in PUBLIC_PAGES
]
