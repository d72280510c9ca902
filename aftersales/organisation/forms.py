from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from aftersales.core.forms import StyledForm
from aftersales.organisation.settings_catalogue import SETTINGS


class SettingsForm(StyledForm):
    """One text input per setting; values are parsed and range-checked by services.settings_update."""

    def __init__(self, *args: object, initial_values: dict[str, object], for_store: bool, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        for setting in SETTINGS:
            self.fields[setting.key] = forms.CharField(
                label=setting.label,
                required=not for_store,
                initial=initial_values.get(setting.key, ""),
                help_text=setting.help,
                widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "form-control form-control-sm"}),
            )


class WeComRobotForm(StyledForm):
    """The store's WeCom group robot: a new webhook address, or remove the one saved."""

    wecom_webhook_url = forms.CharField(
        label=_("WeCom group robot webhook"),
        required=False,
        max_length=500,
        widget=forms.URLInput(
            attrs={"autocomplete": "off", "placeholder": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"}
        ),
    )
    remove = forms.BooleanField(required=False)
