"""French typography in templates."""

from django import template

from mesads.core import text

register = template.Library()


@register.filter(is_safe=True)
def de(name: object) -> str:
    """``{{ authority.name|de }}``: « d’Alès », « de Nîmes » (see ``mesads.core.text.de``).

    Safe as its input is: the output is the name behind a plain prefix, and a name that
    is not already safe is still escaped.
    """
    return text.de(name)
