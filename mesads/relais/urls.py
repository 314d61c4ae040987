from django.urls import path

from .views import imports, owners, prefecture, public, signup, uses, vehicles

app_name = "relais"

urlpatterns = [
    # The public register.
    path("", public.public_index, name="public_index"),
    path("departement/<str:code>/", public.public_register, name="public_register"),
    path("departement/<str:code>/taxis-relais.csv", public.public_csv, name="public_csv"),
    path("donnees-ouvertes/taxis-relais.csv", public.open_data, name="open_data"),
    path(
        "donnees-ouvertes/taxis-relais.schema.json",
        public.open_data_schema,
        name="open_data_schema",
    ),
    # Owners: sign-up, company, members, vehicles.
    path("inscription/", signup.signup, name="signup"),
    path("inscription/envoyee/", signup.signup_sent, name="signup_sent"),
    path(
        "inscription/confirmer/<uidb64>/<token>/",
        signup.signup_confirm,
        name="signup_confirm",
    ),
    path("espace/", owners.space, name="space"),
    path("espace/proprietaire/nouveau/", owners.owner_create, name="owner_create"),
    path("espace/proprietaire/<int:owner_id>/", owners.owner_detail, name="owner"),
    path("espace/proprietaire/<int:owner_id>/modifier/", owners.owner_edit, name="owner_edit"),
    path("espace/proprietaire/<int:owner_id>/inviter/", owners.owner_invite, name="owner_invite"),
    path(
        "espace/invitations/<int:invitation_id>/accepter/",
        owners.invitation_accept,
        name="invitation_accept",
    ),
    path(
        "espace/proprietaire/<int:owner_id>/vehicules/nouveau/",
        vehicles.vehicle_create,
        name="vehicle_create",
    ),
    path("espace/vehicules/<int:vehicle_id>/", vehicles.vehicle_detail, name="vehicle"),
    path("espace/vehicules/<int:vehicle_id>/modifier/", vehicles.vehicle_edit, name="vehicle_edit"),
    path(
        "espace/vehicules/<int:vehicle_id>/retirer/",
        vehicles.vehicle_withdraw,
        name="vehicle_withdraw",
    ),
    path(
        "espace/vehicules/<int:vehicle_id>/recepisse.pdf",
        vehicles.vehicle_receipt,
        name="vehicle_receipt",
    ),
    path(
        "espace/vehicules/<int:vehicle_id>/utilisations/nouvelle/",
        vehicles.use_create,
        name="use_create",
    ),
    # Prefectures and national staff.
    path("prefecture/", prefecture.prefecture_index, name="prefecture_index"),
    path("prefecture/<str:code>/", prefecture.prefecture_register, name="prefecture_register"),
    path(
        "prefecture/<str:code>/taxis-relais.csv",
        prefecture.prefecture_export_csv,
        name="prefecture_export_csv",
    ),
    path(
        "prefecture/<str:code>/taxis-relais.xlsx",
        prefecture.prefecture_export_xlsx,
        name="prefecture_export_xlsx",
    ),
    path(
        "prefecture/<str:code>/exigences/",
        prefecture.prefecture_requirements,
        name="prefecture_requirements",
    ),
    path("prefecture/<str:code>/import/", imports.prefecture_import, name="prefecture_import"),
    path(
        "prefecture/<str:code>/import/confirmer/",
        imports.prefecture_import_confirm,
        name="prefecture_import_confirm",
    ),
    path(
        "prefecture/vehicules/<int:vehicle_id>/",
        prefecture.prefecture_vehicle,
        name="prefecture_vehicle",
    ),
    path(
        "prefecture/vehicules/<int:vehicle_id>/suspendre/",
        prefecture.prefecture_suspend,
        name="prefecture_suspend",
    ),
    path(
        "prefecture/vehicules/<int:vehicle_id>/radier/",
        prefecture.prefecture_remove,
        name="prefecture_remove",
    ),
    path(
        "prefecture/vehicules/<int:vehicle_id>/lever-la-suspension/",
        prefecture.prefecture_reinstate,
        name="prefecture_reinstate",
    ),
    # Controllers.
    path("controle/", uses.control, name="control"),
]
