"""The highest result id folded into each gate state, so a result written around the
writer is found without a refold after every late arrival; filled from the results."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('gates', '0005_gate_states'),
    ]

    operations = [
        migrations.AddField(
            model_name='gatestate',
            name='folded_max_id',
            field=models.BigIntegerField(null=True),
        ),
        migrations.RunSQL(
            "UPDATE gates_gatestate SET folded_max_id = (SELECT max(r.id) FROM gates_gateresult r"
            " WHERE r.release_id = gates_gatestate.release_id AND r.gate_id = gates_gatestate.gate_id"
            " AND r.commit_sha = gates_gatestate.commit_sha) WHERE current_id IS NOT NULL",
            migrations.RunSQL.noop,
        ),
    ]
