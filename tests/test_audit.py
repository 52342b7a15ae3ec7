"""The audit trail: written by services in the same transaction, append-only, visible per body."""

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from certification import audit
from certification.models import AuditEvent
from certification.tenancy import scopes_disabled, tenant_scope
from licences import services
from licences.models import LicenceHolder

pytestmark = pytest.mark.django_db


def events(body, action):
    with scopes_disabled("test"):
        return list(AuditEvent.objects.filter(body=body, action=action))


def test_service_writes_before_and_after(world):
    with tenant_scope(world.a.body), audit.acting_as(world.a.admin, "10.0.0.9"):
        services.do_update_holder(holder=world.a.holder, changes={"name": "Alpha Renamed"}, reason="merger")
    (event,) = events(world.a.body, "holder.update")
    assert event.actor == world.a.admin and event.actor_label == "admin@alpha.test"
    assert event.before["name"] == "Alpha Body Holder One" and event.after["name"] == "Alpha Renamed"
    assert event.reason == "merger" and event.request_ip == "10.0.0.9"
    assert event.object_id == str(world.a.holder.pk)


def test_change_and_audit_commit_or_roll_back_together(world):
    with tenant_scope(world.a.body):
        with pytest.raises(RuntimeError), transaction.atomic():
            services.do_update_holder(holder=world.a.holder, changes={"name": "Never saved"})
            raise RuntimeError("something later in the same request failed")
    with scopes_disabled("test"):
        assert LicenceHolder.objects.get(pk=world.a.holder.pk).name == "Alpha Body Holder One"
    assert events(world.a.body, "holder.update") == []


@pytest.mark.django_db(transaction=True)
def test_record_outside_a_transaction_is_refused():
    from certification.services import do_create_body

    body = do_create_body(code="gamma", name="Gamma")
    with pytest.raises(audit.NotInTransaction):
        audit.record("body.poke", body)


def _append_only_models():
    from licences.models import LicenceStateChange
    from sampling.models import CustodyEvent, LabResult

    return [AuditEvent, LicenceStateChange, CustodyEvent, LabResult]


@pytest.mark.parametrize("model", _append_only_models(), ids=lambda m: m.__name__)
def test_append_only_rows_cannot_be_changed_through_the_orm(world, model):
    with scopes_disabled("test"):
        row = model.objects.filter(body=world.a.body).first()
        assert row is not None, f"the world has no {model.__name__}"
        with pytest.raises(PermissionError):
            row.save()
        with pytest.raises(PermissionError):
            row.delete()
        with pytest.raises(PermissionError):
            model.objects.filter(pk=row.pk).update(body=world.a.body)
        with pytest.raises(PermissionError):
            model.objects.filter(pk=row.pk).delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the database trigger exists on PostgreSQL only")
@pytest.mark.parametrize("model", _append_only_models(), ids=lambda m: m.__name__)
def test_database_refuses_update_and_delete(world, model):
    table = model._meta.db_table
    with scopes_disabled("test"):
        pk = model.objects.filter(body=world.a.body).values_list("pk", flat=True).first()
    for sql in (f"UPDATE {table} SET body_id = body_id WHERE id = %s", f"DELETE FROM {table} WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [pk])


def test_staff_page_change_leaves_an_audit_row(world, login):
    client = login(world.a.officer)
    response = client.post("/staff/holders/new/", {"name": "New Plant NV", "company_number": "0418.316.359"})
    assert response.status_code == 302, response.content
    (event,) = [e for e in events(world.a.body, "holder.register") if e.object_repr == "New Plant NV"]
    assert event.actor == world.a.officer and event.after["company_number"] == "BE0418316359"


def test_invalid_company_number_is_a_form_error_and_writes_nothing(world, login):
    client = login(world.a.officer)
    response = client.post("/staff/holders/new/", {"name": "Bad NV", "company_number": "0418.316.358"})
    assert response.status_code == 200
    assert "not a valid Belgian enterprise number" in response.content.decode()
    assert not [e for e in events(world.a.body, "holder.register") if e.object_repr == "Bad NV"]
    with scopes_disabled("test"):
        assert not LicenceHolder.objects.filter(name="Bad NV").exists()


def test_audit_page_shows_only_own_body(world, login):
    client = login(world.b.admin)
    page = client.get("/staff/audit/").content.decode()
    assert "Beta Body Holder One" in page
    assert "Alpha Body Holder One" not in page


def test_snapshot_handles_empty_and_filled_file_fields(world):
    from marks.models import RegulationVersion

    version = RegulationVersion(body=world.a.body, version=1)
    assert audit.snapshot(version, fields=["document"]) == {"document": ""}
    version.document.name = "regulations/tra-11.pdf"
    assert audit.snapshot(version, fields=["document"]) == {"document": "regulations/tra-11.pdf"}
