from django.db import migrations

TABLES = ["sampling_custodyevent", "sampling_labresult"]

FUNCTION = """
CREATE OR REPLACE FUNCTION sampling_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION sampling_append_only();", params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};", params=None)
    schema_editor.execute("DROP FUNCTION IF EXISTS sampling_append_only();", params=None)


class Migration(migrations.Migration):
    dependencies = [("sampling", "0002_samples_results_conformity")]
    operations = [migrations.RunPython(forwards, backwards)]
