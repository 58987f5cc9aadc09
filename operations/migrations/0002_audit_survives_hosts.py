"""Operations are the audit log: they keep the host's name and survive the host's removal
(host SET_NULL instead of CASCADE), and say which team a change was made for."""

import django.db.models.deletion
from django.db import migrations, models


def copy_host_names(apps, schema_editor):
    Operation = apps.get_model("operations", "Operation")
    for op in Operation.objects.filter(host__isnull=False).select_related("host").iterator():
        Operation.objects.filter(pk=op.pk).update(host_name=op.host.name)


class Migration(migrations.Migration):

    dependencies = [
        ('hosts', '0001_initial'),
        ('operations', '0001_initial'),
        ('teams', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='operation',
            name='host_name',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name='operation',
            name='team',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='operations', to='teams.team'),
        ),
        migrations.AlterField(
            model_name='operation',
            name='host',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='operations', to='hosts.host'),
        ),
        migrations.RunPython(copy_host_names, migrations.RunPython.noop),
    ]
