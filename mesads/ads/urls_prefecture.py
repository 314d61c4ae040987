app_name = "prefecture"

urlpatterns: list = []
