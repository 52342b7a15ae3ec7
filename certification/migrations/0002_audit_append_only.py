from django.db import migrations

TRIGGER = """
CREATE OR REPLACE FUNCTION certification_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'certification_auditevent is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER certification_auditevent_append_only
    BEFORE UPDATE OR DELETE ON certification_auditevent
    FOR EACH ROW EXECUTE FUNCTION certification_audit_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS certification_auditevent_append_only ON certification_auditevent;
DROP FUNCTION IF EXISTS certification_audit_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("certification", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
