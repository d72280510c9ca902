"""The data inventory must list every personal field: a new field on a model that holds data about a
customer fails here until it is classified (personal with purpose/basis/retention, or not personal)."""

from django.apps import apps
from django.db import models
from django.test.utils import isolate_apps

from aftersales.customers.inventory import INVENTORY, NOT_PERSONAL, inventory_by_model
from aftersales.customers.models import Customer, Vehicle

PROJECT_APPS = [c for c in apps.get_app_configs() if c.name.startswith("aftersales.")]


def _customer_models(candidates=None) -> list:
    """Customer itself and every model of ours with a foreign key to a customer or a vehicle."""
    found = []
    if candidates is None:
        candidates = [m for config in PROJECT_APPS for m in config.get_models()]
    for model in candidates:
        relates = any(
            getattr(field, "related_model", None) in (Customer, Vehicle)
            for field in model._meta.concrete_fields
            if field.is_relation
        )
        if model is Customer or relates:
            found.append(model)
    return found


def _unclassified(models) -> list[str]:
    listed = inventory_by_model()
    return [
        f"{model._meta.label}.{field.name}"
        for model in models
        for field in model._meta.concrete_fields
        if field.name not in listed.get(model._meta.label, {})
        and field.name not in NOT_PERSONAL.get(model._meta.label, set())
    ]


class InventoryTests:
    def test_every_field_of_every_customer_model_is_classified(self):
        unclassified = _unclassified(_customer_models())
        assert not unclassified, f"add these to customers/inventory.py: {unclassified}"

    def test_the_inventory_names_only_fields_that_exist(self):
        for item in INVENTORY:
            model = apps.get_model(item.model)
            assert item.field in {f.name for f in model._meta.concrete_fields}, item
        for label, names in NOT_PERSONAL.items():
            model = apps.get_model(label)
            assert names <= {f.name for f in model._meta.concrete_fields}, label

    def test_every_entry_says_purpose_basis_sensitivity_and_retention(self):
        for item in INVENTORY:
            assert all(str(x).strip() for x in (item.purpose, item.legal_basis, item.sensitivity, item.retention)), item

    def test_every_encrypted_column_is_marked_encrypted_and_the_core_three_are(self):
        encrypted = {(i.model, i.field) for i in INVENTORY if i.encrypted}
        assert {
            ("customers.Customer", "phone_encrypted"),
            ("customers.Customer", "id_number_encrypted"),
            ("customers.Customer", "address_encrypted"),
        } <= encrypted
        named = {(i.model, i.field) for i in INVENTORY if i.field.endswith("_encrypted")}
        assert named <= encrypted, "a *_encrypted column must be marked encrypted=True"

    @isolate_apps("aftersales.customers")
    def test_it_would_catch_a_new_model_with_an_unlisted_field(self):
        class Probe(models.Model):  # noqa: DJ008 - a throw-away model
            customer = models.ForeignKey(Customer, on_delete=models.CASCADE)
            wechat_id = models.CharField(max_length=40)

            class Meta:
                app_label = "customers"

        found = _customer_models([Probe])
        assert found == [Probe]
        assert "customers.Probe.wechat_id" in _unclassified(found)
