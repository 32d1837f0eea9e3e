"""Which system reported a defect, so that only that tracker may change it by API."""

from django.db import migrations, models


def from_the_audit_trail(apps, schema_editor):
    Defect = apps.get_model("checklists", "Defect")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    for defect in Defect.objects.filter(reported_by__isnull=True).iterator():
        event = (
            AuditEvent.objects.filter(
                object_type="checklists.defect", object_id=str(defect.pk), action="defect.report"
            )
            .order_by("at", "id")
            .first()
        )
        if event is not None:
            Defect.objects.filter(pk=defect.pk).update(reported_via=event.actor_label[:150])


class Migration(migrations.Migration):
    dependencies = [("checklists", "0002_item_template_item"), ("audit", "0002_append_only_trigger")]

    operations = [
        migrations.AddField(
            model_name="defect",
            name="reported_via",
            field=models.CharField(blank=True, max_length=150, verbose_name="reported through"),
        ),
        migrations.RunPython(from_the_audit_trail, migrations.RunPython.noop),
    ]
