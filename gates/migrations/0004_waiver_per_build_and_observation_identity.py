"""A waiver belongs to the build and commit it was asked for; a gate result is unique per
observation (the same run may fail, pass and fail again, each at its own time)."""

import django.db.models.deletion
from django.db import migrations, models


def waivers_at_their_release_build(apps, schema_editor):
    # Waivers made before this change were asked on the release as it is now: keep them
    # counting for its current build and commit.
    Waiver = apps.get_model("gates", "Waiver")
    for waiver in Waiver.objects.select_related("release").iterator():
        Waiver.objects.filter(pk=waiver.pk).update(
            build_number=waiver.release.build_number, commit_sha=waiver.release.commit_sha
        )


class Migration(migrations.Migration):
    dependencies = [("gates", "0003_gateresult_unique_per_commit"), ("releases", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="waiver",
            name="build_number",
            field=models.PositiveBigIntegerField(default=0, verbose_name="build number"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="waiver",
            name="commit_sha",
            field=models.CharField(blank=True, default="", max_length=64, verbose_name="commit"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="waiver",
            name="carried_from",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="gates.waiver",
                verbose_name="carried over from",
            ),
        ),
        migrations.RunPython(waivers_at_their_release_build, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="gateresult", name="gateresult_unique_commit_run_status"),
        migrations.AddConstraint(
            model_name="gateresult",
            constraint=models.UniqueConstraint(
                condition=models.Q(("run_id", ""), _negated=True),
                fields=("release", "gate", "commit_sha", "run_id", "run_attempt", "status", "observed_at"),
                name="gateresult_unique_observation",
            ),
        ),
    ]
