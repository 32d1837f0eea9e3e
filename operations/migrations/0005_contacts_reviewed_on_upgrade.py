"""On-call contacts kept before `reviewed_on` existed count as reviewed on the day of the
upgrade: a contacts review window then starts for them, instead of every release of every
product being blocked at once by contacts nobody could have reviewed yet."""

from django.db import migrations
from django.utils import timezone


def reviewed_on_upgrade(apps, schema_editor):
    OnCallContact = apps.get_model("operations", "OnCallContact")
    OnCallContact.objects.filter(reviewed_on__isnull=True).update(reviewed_on=timezone.localdate())


class Migration(migrations.Migration):
    dependencies = [("operations", "0004_health_sources_samples_contacts_reviewed")]

    operations = [migrations.RunPython(reviewed_on_upgrade, migrations.RunPython.noop)]
