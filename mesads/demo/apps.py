from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo register of ``make run`` (``load_demo``): the top of the house, it may
    import any app; no app imports it."""

    name = "mesads.demo"
    verbose_name = "Démonstration"
