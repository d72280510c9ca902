from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShellConfig(AppConfig):
    """The web shell: base templates, navigation, the home page and static assets."""

    name = "aftersales.config"
    label = "shell"
    verbose_name = _("Web shell")
