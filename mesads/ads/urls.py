from django.urls import path

from .views import ads, authorities, certification, documents, history

app_name = "ads"

urlpatterns = [
    path("gestionnaires/", authorities.authority_list, name="authorities"),
    path("gestionnaires/<int:authority_id>/", authorities.authority_dashboard, name="authority"),
    path(
        "gestionnaires/<int:authority_id>/declaration/",
        authorities.authority_declaration,
        name="declaration",
    ),
    path("gestionnaires/<int:authority_id>/ads/", ads.ads_list, name="list"),
    path("gestionnaires/<int:authority_id>/ads/nouvelle/", ads.ads_create, name="create"),
    path(
        "gestionnaires/<int:authority_id>/arretes/ajouter/",
        documents.decree_create,
        name="decree_create",
    ),
    path("arretes/<int:decree_id>/", documents.decree_download, name="decree_download"),
    path("ads/<int:ads_id>/", ads.ads_detail, name="detail"),
    path("ads/<int:ads_id>/modifier/", ads.ads_edit, name="edit"),
    path("ads/<int:ads_id>/supprimer/", ads.ads_delete, name="delete"),
    path("ads/<int:ads_id>/restaurer/", ads.ads_restore, name="restore"),
    path("ads/<int:ads_id>/attester/", certification.ads_attest, name="attest"),
    path("ads/<int:ads_id>/historique/", history.ads_history, name="history"),
    path("ads/<int:ads_id>/documents/ajouter/", documents.document_create, name="document_create"),
    path("documents/<int:document_id>/", documents.document_download, name="document_download"),
    path(
        "documents/<int:document_id>/supprimer/",
        documents.document_delete,
        name="document_delete",
    ),
]
