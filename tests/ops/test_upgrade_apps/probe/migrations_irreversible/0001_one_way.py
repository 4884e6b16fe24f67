from django.db import migrations


def forward(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [("agents", "__latest__")]
    operations = [migrations.RunPython(forward), migrations.RunSQL("SELECT 1")]
