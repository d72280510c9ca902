"""Start each graded person's history with the grade their profile held (effective from the profile's creation
day), so the grade on a past day and the senior share read the same grade the snapshot showed."""

from django.db import migrations


def forwards(apps, schema_editor):
    StaffProfile = apps.get_model("organisation", "StaffProfile")
    GradeRecord = apps.get_model("staff", "GradeRecord")
    rows = [
        GradeRecord(
            user_id=profile.user_id,
            grade=profile.technician_grade,
            effective_from=profile.created_at.date(),
            note="carried over from the profile",
        )
        for profile in StaffProfile.objects.exclude(technician_grade="").order_by("pk")
        if not GradeRecord.objects.filter(user_id=profile.user_id).exists()
    ]
    GradeRecord.objects.bulk_create(rows)


class Migration(migrations.Migration):
    dependencies = [("staff", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
