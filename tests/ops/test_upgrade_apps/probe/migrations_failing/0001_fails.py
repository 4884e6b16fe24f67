from django.db import migrations


def fail(apps, schema_editor):
    raise RuntimeError("boom: the data does not fit the new schema")


class Migration(migrations.Migration):
    dependencies = [("agents", "__latest__")]
    operations = [migrations.RunPython(fail, migrations.RunPython.noop)]
