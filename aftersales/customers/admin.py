from django.contrib import admin

from aftersales.customers.models import Customer, Vehicle


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    """Read-mostly: personal fields stay encrypted here; staff edit customers through the product's pages."""

    list_display = ("id", "name", "store", "is_priority", "created_at")
    list_filter = ("store", "is_priority")
    search_fields = ("name",)
    exclude = (
        "phone_encrypted",
        "phone_hash",
        "phone_last4_hash",
        "id_number_encrypted",
        "id_number_hash",
        "address_encrypted",
    )
    readonly_fields = ("store", "name", "gender", "birthday")


@admin.register(Vehicle)
class VehicleAdmin(admin.ModelAdmin):
    list_display = ("id", "plate", "vin", "brand", "model_name", "powertrain", "store")
    list_filter = ("store", "powertrain")
    search_fields = ("plate", "vin")
    readonly_fields = ("store", "customer")
