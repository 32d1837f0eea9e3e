# The Google Play and App Store Connect parts were built side by side, each with its own
# first migration; this joins them.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("stores", "0001_appstore"),
        ("stores", "0001_play"),
    ]

    operations = []
