"""Each gate's current state per release and commit, kept by the writer (gates.states),
folded here once from the results already on record; and indexes for the writer's lookup
of a run's observations and its check that nothing landed around it since a fold (so a
result an older process writes while this runs is folded in at the next one)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from gates.folding import RESULT_ORDER, fold


def fold_existing(apps, schema_editor):
    GateResult = apps.get_model("gates", "GateResult")
    GateState = apps.get_model("gates", "GateState")
    keys = GateResult.objects.values_list("release_id", "gate_id", "commit_sha").distinct()
    for release_id, gate_id, commit in sorted(set(keys)):
        results = GateResult.objects.filter(release_id=release_id, gate_id=gate_id, commit_sha=commit)
        folded = fold(results.order_by(*RESULT_ORDER).iterator())
        last_at, last_attempt, last_id = folded.last
        GateState.objects.create(
            release_id=release_id,
            gate_id=gate_id,
            commit_sha=commit,
            current_id=folded.shown.pk,
            since_id=folded.since,
            worsened_id=folded.worsened,
            worsened_received_at=folded.worsened_received_at,
            jobs={name: seen.as_json() for name, seen in folded.jobs.items()},
            last_observed_at=last_at,
            last_attempt=last_attempt,
            last_result_id=last_id,
        )


class Migration(migrations.Migration):

    dependencies = [
        ('gates', '0004_waiver_per_build_and_observation_identity'),
        ('releases', '0005_rollout_health_halt_language'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='GateState',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('commit_sha', models.CharField(blank=True, max_length=64)),
                ('worsened_received_at', models.DateTimeField(null=True)),
                ('jobs', models.JSONField(default=dict)),
                ('last_observed_at', models.DateTimeField(null=True)),
                ('last_attempt', models.PositiveIntegerField(null=True)),
                ('last_result_id', models.BigIntegerField(null=True)),
            ],
        ),
        migrations.AddIndex(
            model_name='gateresult',
            index=models.Index(fields=['release', 'run_id'], name='gateresult_run_idx'),
        ),
        migrations.AddIndex(
            model_name='gateresult',
            index=models.Index(fields=['release', 'gate', 'commit_sha', 'id'], name='gateresult_folded_idx'),
        ),
        migrations.AddField(
            model_name='gatestate',
            name='current',
            field=models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='gates.gateresult'),
        ),
        migrations.AddField(
            model_name='gatestate',
            name='gate',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='gates.gate'),
        ),
        migrations.AddField(
            model_name='gatestate',
            name='release',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='releases.release'),
        ),
        migrations.AddField(
            model_name='gatestate',
            name='since',
            field=models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='gates.gateresult'),
        ),
        migrations.AddField(
            model_name='gatestate',
            name='worsened',
            field=models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='gates.gateresult'),
        ),
        migrations.AddConstraint(
            model_name='gatestate',
            constraint=models.UniqueConstraint(fields=('release', 'commit_sha', 'gate'), name='gatestate_one_per_gate'),
        ),
        migrations.RunPython(fold_existing, migrations.RunPython.noop),
    ]
