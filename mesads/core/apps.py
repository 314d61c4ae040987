from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "mesads.core"
    verbose_name = "Mes ADS"

    def ready(self) -> None:
        # The domain of the Message-ID of every mail (and of the SMTP greeting): Django
        # takes the machine's name (socket.getfqdn(): often "localhost" in a container),
        # which spam filters hold against a message. The service's own domain instead.
        from urllib.parse import urlsplit

        from django.conf import settings
        from django.core.mail.utils import DNS_NAME

        domain = urlsplit(settings.SITE_URL).hostname
        if domain:
            DNS_NAME._fqdn = domain
