"""Releases already rolling out, halted or rolled out before stages were kept: the first
stage for those on the way, 100 % for those fully out."""

from django.db import migrations


def backfill(apps, schema_editor):  # type: ignore[no-untyped-def]
    Release = apps.get_model("releases", "Release")
    for release in Release.objects.filter(rollout_percent__isnull=True, state__in=("rolling_out", "halted")).select_related("product"):
        raw = release.product.rollout_stages
        stages = sorted(
            {p for p in (raw if isinstance(raw, list) else []) if isinstance(p, int) and not isinstance(p, bool) and 0 < p <= 100}
        )
        release.rollout_percent = stages[0] if stages else 100
        release.save(update_fields=["rollout_percent"])
    Release.objects.filter(rollout_percent__isnull=True, state="released").update(rollout_percent=100)


class Migration(migrations.Migration):
    dependencies = [("releases", "0003_release_rollout_percent")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
