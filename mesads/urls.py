from django.conf import settings
from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Mes ADS – administration"
admin.site.site_title = "Mes ADS"
admin.site.index_title = "Équipe nationale"

# Error pages: templates/404.html, 403.html, 403_csrf.html (Django's CSRF failure view),
# 500.html, and this view for 400.html.
handler400 = "mesads.core.views.bad_request"

urlpatterns = [
    path("", include("mesads.core.urls")),
    path("compte/", include("mesads.users.urls")),
    path("", include("mesads.ads.urls", namespace="ads")),
    path("acces/", include("mesads.users.urls_access", namespace="access")),
    path("prefecture/", include("mesads.ads.urls_prefecture", namespace="prefecture")),
    path("exports/", include("mesads.exchange.urls", namespace="exchange")),
    path("imports/", include("mesads.exchange.import_urls")),
    path("api/v1/relais/", include("mesads.relais.api_urls", namespace="relais_api")),
    path("api/v1/", include("mesads.api.urls", namespace="api")),
    path("donnees-ouvertes/", include("mesads.opendata.urls", namespace="opendata")),
    path("vie-des-ads/", include("mesads.lifecycle.urls", namespace="lifecycle")),
    path("relances/", include("mesads.reminders.urls", namespace="reminders")),
    path("", include("mesads.waitinglists.urls", namespace="waitinglists")),
    path("deploiement/", include("mesads.deployment.urls", namespace="deployment")),
    path("taxis-relais/", include("mesads.relais.urls", namespace="relais")),
    path("chiffres-cles/", include("mesads.stats.urls", namespace="stats")),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
