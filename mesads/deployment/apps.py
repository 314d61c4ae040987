from django.apps import AppConfig


class DeploymentConfig(AppConfig):
    """National staff's follow-up of the register's deployment: who declared, who has
    access, who decides, and how much the register is used."""

    name = "mesads.deployment"
    label = "deployment"
    verbose_name = "Suivi du déploiement"
