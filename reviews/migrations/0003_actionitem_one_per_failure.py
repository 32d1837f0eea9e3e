"""A failure is turned into one action item (issue 15, item 6). Items made twice from the
same failure before this rule keep their text; the later ones let go of the failure."""

from django.db import migrations, models


def unlink_duplicates(apps, schema_editor):  # type: ignore[no-untyped-def]
    ActionItem = apps.get_model("reviews", "ActionItem")
    seen: set[int] = set()
    for pk, failure_id in (
        ActionItem.objects.filter(failure__isnull=False).order_by("failure_id", "id").values_list("pk", "failure_id")
    ):
        if failure_id in seen:
            ActionItem.objects.filter(pk=pk).update(failure=None)
        seen.add(failure_id)


class Migration(migrations.Migration):
    dependencies = [("reviews", "0002_weeklyreview_timer")]

    operations = [
        migrations.RunPython(unlink_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="actionitem",
            constraint=models.UniqueConstraint(
                condition=models.Q(("failure__isnull", False)),
                fields=("failure",),
                name="actionitem_one_per_failure",
            ),
        ),
    ]
