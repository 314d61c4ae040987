"""gunicorn's own logs with the secrets masked (mesads.core.redaction): its access line
(GUNICORN_ACCESS_LOG), whose path, request line, query string, referer, redirection
target and any header may hold a reset token, an OpenID Connect code or an API key, and
its error log ("Error handling request /…?…"). Set as ``logger_class`` in gunicorn.conf.py.
"""

from gunicorn.glogging import Logger

from .logging import RedactSecretsFilter
from .redaction import redact, redact_header

# Atoms of the access log format holding a URL or part of one.
_URL_ATOMS = ("r", "U", "q", "f", "{location}o", "{referer}i")


class RedactingLogger(Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.addFilter(RedactSecretsFilter())

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        for name, value in atoms.items():
            if name in _URL_ATOMS:
                atoms[name] = redact(value)
            elif name.endswith(("}i", "}o")) and name.startswith("{"):
                atoms[name] = redact_header(name[1:-2], value)
            elif name.endswith("}e") and isinstance(value, str):
                atoms[name] = redact(value)
        return atoms
