"""The default survey instrument (SPEC §4) as reference data, so a freshly migrated database shows the call
script and the customer's survey page before anybody has answered; reads never create it.  The items are
frozen here as they were when this migration was written (later changes to the instrument are new rows)."""

from django.db import migrations

CODE = "default"
NAME = "售后服务满意度调查 / After-sales satisfaction survey"
# (key, kind, zh-hans, en, required, asks expectation, SERVQUAL dimension)
ITEMS = (
    ("overall", "score_0_10", "您对本次服务的总体满意度（0–10分）", "Overall satisfaction (0–10)", True, False, ""),
    (
        "recommend",
        "score_0_10",
        "您向亲友推荐本店的可能性（0–10分）",
        "How likely are you to recommend us to friends and family (0–10)?",
        False,
        False,
        "",
    ),
    ("attitude", "scale_1_5", "服务态度", "Service attitude", False, True, "empathy"),
    ("quality", "scale_1_5", "维修质量", "Repair quality", False, True, "reliability"),
    ("waiting", "scale_1_5", "等待时间", "Waiting time", False, True, "responsiveness"),
    ("price_transparency", "scale_1_5", "价格透明", "Price transparency", False, True, "assurance"),
    ("explanation", "scale_1_5", "维修解释", "Explanation of the work", False, True, "assurance"),
    ("facility", "scale_1_5", "环境设施", "Facility and environment", False, True, "tangibles"),
    ("timeliness", "scale_1_5", "交车及时", "Timeliness of delivery", False, True, "responsiveness"),
    ("suggestions", "text", "您的意见和建议", "Your suggestions", False, False, ""),
)


def create_default(apps, schema_editor):
    SurveyInstrument = apps.get_model("feedback", "SurveyInstrument")
    SurveyItem = apps.get_model("feedback", "SurveyItem")
    if SurveyInstrument.objects.filter(is_default=True).exists():
        return
    instrument = SurveyInstrument.objects.create(code=CODE, name=NAME, is_default=True)
    SurveyItem.objects.bulk_create(
        SurveyItem(
            instrument=instrument,
            key=key,
            kind=kind,
            position=position,
            wording_zh_hans=zh,
            wording_en=en,
            required=required,
            asks_expectation=expectation,
            dimension=dimension,
        )
        for position, (key, kind, zh, en, required, expectation, dimension) in enumerate(ITEMS)
    )


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_initial")]

    operations = [migrations.RunPython(create_default, migrations.RunPython.noop)]
