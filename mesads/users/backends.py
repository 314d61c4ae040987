from django.contrib.auth.backends import BaseBackend


class NationalStaffBackend(BaseBackend):
    """National staff (``is_staff``) administer the whole registry: every permission of
    the Django admin, without managing permission lists by hand. It authenticates no one."""

    def has_perm(self, user_obj, perm: str, obj=None) -> bool:
        return user_obj.is_active and user_obj.is_staff

    def has_module_perms(self, user_obj, app_label: str) -> bool:
        return user_obj.is_active and user_obj.is_staff
