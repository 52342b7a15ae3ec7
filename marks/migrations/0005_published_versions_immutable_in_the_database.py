"""The models refuse changes to published or superseded regulation versions; these triggers refuse them again
in PostgreSQL, so a raw ``QuerySet.update()``, a bulk write or a manual SQL session cannot rewrite what
licences were granted under. Row triggers do not fire on TRUNCATE (test database flushes)."""

from django.db import migrations

VERSION_FUNCTION = """
CREATE OR REPLACE FUNCTION marks_version_immutable() RETURNS trigger AS $$
DECLARE
    unchanged marks_regulationversion;
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'regulation version % is %: it cannot be deleted', OLD.id, OLD.status;
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status = 'draft' THEN
        RETURN NEW;
    END IF;
    unchanged := NEW;
    unchanged.status := OLD.status;
    IF unchanged IS DISTINCT FROM OLD
       OR (NEW.status <> OLD.status AND NOT (OLD.status = 'published' AND NEW.status = 'superseded')) THEN
        RAISE EXCEPTION 'regulation version % is %: it cannot change (draft a new version)', OLD.id, OLD.status;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""

# Content rows name their version in the column given as the trigger's argument.
CONTENT_FUNCTION = """
CREATE OR REPLACE FUNCTION marks_version_content_immutable() RETURNS trigger AS $$
DECLARE
    item jsonb;
    version_id bigint;
BEGIN
    FOREACH item IN ARRAY ARRAY[
        CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
        CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END
    ] LOOP
        CONTINUE WHEN item IS NULL;
        version_id := (item ->> TG_ARGV[0])::bigint;
        IF EXISTS (SELECT 1 FROM marks_regulationversion WHERE id = version_id AND status <> 'draft') THEN
            RAISE EXCEPTION 'regulation version % is not a draft: % cannot change', version_id, TG_TABLE_NAME;
        END IF;
    END LOOP;
    RETURN COALESCE(NEW, OLD);
END;
$$ LANGUAGE plpgsql;
"""

CONTENT_TABLES = [
    ("marks_requirement", "version_id"),
    ("marks_checklistitem", "version_id"),
    ("marks_regulationversion_reference_documents", "regulationversion_id"),
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(VERSION_FUNCTION, params=None)
    schema_editor.execute(CONTENT_FUNCTION, params=None)
    schema_editor.execute(
        "CREATE TRIGGER marks_regulationversion_immutable BEFORE UPDATE OR DELETE ON marks_regulationversion "
        "FOR EACH ROW EXECUTE FUNCTION marks_version_immutable();", params=None)
    for table, column in CONTENT_TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION marks_version_content_immutable('{column}');", params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP TRIGGER IF EXISTS marks_regulationversion_immutable ON marks_regulationversion;",
                          params=None)
    for table, _column in CONTENT_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table};", params=None)
    schema_editor.execute("DROP FUNCTION IF EXISTS marks_version_immutable();", params=None)
    schema_editor.execute("DROP FUNCTION IF EXISTS marks_version_content_immutable();", params=None)


class Migration(migrations.Migration):
    dependencies = [("marks", "0004_requirement_ocl")]
    operations = [migrations.RunPython(forwards, backwards)]
