from django.contrib.auth import backends

from mesads.users.scope import load_user


class ModelBackend(backends.ModelBackend):
    """Django's (e-mail and password). Its sessions' user is read with what they may
    reach, in one query (``mesads.users.scope.load_user``): every logged-in page needs both."""

    def get_user(self, user_id):
        user = load_user(user_id)
        return user if self.user_can_authenticate(user) else None


class NationalStaffBackend(backends.BaseBackend):
    """National staff (``is_staff``) administer the whole registry: every permission of
    the Django admin, without managing permission lists by hand. It authenticates no one."""

    def has_perm(self, user_obj, perm: str, obj=None) -> bool:
        return user_obj.is_active and user_obj.is_staff

    def has_module_perms(self, user_obj, app_label: str) -> bool:
        return user_obj.is_active and user_obj.is_staff
