"""Operations on the register that span several models (the interface other apps use)."""

from .authorities import ensure_authorities

__all__ = ["ensure_authorities"]
