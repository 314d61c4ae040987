"""What the geography tells the apps built on it (they connect at their ``ready()``)."""

from django.dispatch import Signal

# Sent by ``load_geography`` inside the load's transaction, with ``progress`` (a callable
# taking a message, or None). A receiver brings its own data in line with the geography
# (the authorities app creates the authority of every new territory) and returns its
# counts, which the command prints: {kind: {"created": n, "updated": n}}.
geography_loaded = Signal()
