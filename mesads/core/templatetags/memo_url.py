"""``{% url %}`` as Django's, with each URL reversed once per process.

``reverse`` walks the resolver every time: a page's header, navigation, footer and
buttons name some thirty URLs, a tenth of the ADS page's CPU. A URL depends only on its
name, its arguments, the URLconf, the script prefix and the current application, so this
tag, installed as a template builtin (``settings.TEMPLATES``) in place of Django's, keeps
what ``reverse`` answered for those in a bounded cache of the process. Arguments other
than text and integers (an object, a lazy string) go to Django's tag unchanged.
"""

import functools

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template import defaulttags
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape

register = template.Library()

CACHED_URLS = 20_000  # a few MiB at most; the ADS pages' own URLs come and go (LRU)


@functools.lru_cache(maxsize=CACHED_URLS)
def cached_reverse(
    name: str, args: tuple, kwargs: tuple, urlconf, script_prefix: str, current_app
) -> str:
    return reverse(name, urlconf=urlconf, args=args, kwargs=dict(kwargs), current_app=current_app)


@receiver(setting_changed, dispatch_uid="memo-url-urlconf")
def _urlconf_changed(setting: str, **kwargs) -> None:
    """As Django forgets its resolvers when ROOT_URLCONF changes (tests), so does this."""
    if setting == "ROOT_URLCONF":
        cached_reverse.cache_clear()


def _plain(value) -> bool:
    """Text (a name in quotes is a SafeString) or an integer: what reverse() turns into
    the same URL whatever else is true. Not a boolean: True and 1 are the same cache key,
    but not the same URL."""
    return isinstance(value, str) or type(value) is int


def _current_app(context) -> str | None:
    """The application namespace Django's tag passes to ``reverse``: the request's
    ``current_app`` when it has one, else the namespace of the view it resolved to."""
    request = getattr(context, "request", None)
    if hasattr(request, "current_app"):
        return request.current_app
    match = getattr(request, "resolver_match", None)
    return match.namespace if match is not None else None


class MemoURLNode(defaulttags.URLNode):
    def render(self, context):
        name = self.view_name.resolve(context)
        args = tuple(arg.resolve(context) for arg in self.args)
        kwargs = tuple(sorted((key, value.resolve(context)) for key, value in self.kwargs.items()))
        if not (_plain(name) and all(map(_plain, args)) and all(_plain(v) for _, v in kwargs)):
            return super().render(context)
        try:
            url = cached_reverse(
                name, args, kwargs, get_urlconf(), get_script_prefix(), _current_app(context)
            )
        except NoReverseMatch:
            if self.asvar is None:
                raise
            url = ""
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser, token):
    node = defaulttags.url(parser, token)
    return MemoURLNode(node.view_name, node.args, node.kwargs, node.asvar)
