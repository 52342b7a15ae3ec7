"""The scoping mechanism itself: fail closed, filter by body and by holder, refuse cross-tenant writes."""

import pytest
from django import forms

from certification.tenancy import (
    CrossTenantReference,
    Scope,
    ScopeError,
    activate,
    deactivate,
    scopes_disabled,
    tenant_scope,
)
from licences.models import HolderMembership, LicenceHolder, Site
from sampling.models import Laboratory

pytestmark = pytest.mark.django_db


def test_query_without_scope_fails_closed(world):
    with pytest.raises(ScopeError):
        list(LicenceHolder.objects.all())
    with pytest.raises(ScopeError):
        LicenceHolder.objects.count()


def test_body_scope_shows_only_that_bodys_rows(world):
    with tenant_scope(world.a.body):
        names = set(LicenceHolder.objects.values_list("name", flat=True))
    assert names == {"Alpha Body Holder One", "Alpha Body Holder Two"}
    with tenant_scope(world.b.body):
        assert not LicenceHolder.objects.filter(pk=world.a.holder.pk).exists()


def test_holder_scope_shows_only_that_company(world):
    token = activate(Scope(body=world.a.body.pk, holder=world.a.holder.pk))
    try:
        assert list(LicenceHolder.objects.values_list("pk", flat=True)) == [world.a.holder.pk]
        assert set(HolderMembership.objects.values_list("holder_id", flat=True)) == {world.a.holder.pk}
    finally:
        deactivate(token)


def test_laboratory_scope(world):
    token = activate(Scope(body=world.a.body.pk, laboratory=world.a.lab.pk))
    try:
        assert list(Laboratory.objects.values_list("pk", flat=True)) == [world.a.lab.pk]
    finally:
        deactivate(token)


def test_queryset_built_without_scope_is_scoped_when_it_runs(world):
    # Form classes build their querysets at import time; the scope applies when the query executes.
    queryset = LicenceHolder.objects.order_by("name")
    with tenant_scope(world.b.body):
        assert [h.name for h in queryset] == ["Beta Body Holder One", "Beta Body Holder Two"]
    with tenant_scope(world.a.body):
        assert [h.name for h in queryset.all()] == ["Alpha Body Holder One", "Alpha Body Holder Two"]


class SiteForm(forms.ModelForm):
    class Meta:
        model = Site
        fields = ["holder", "name"]


def test_form_refuses_another_bodys_id(world):
    with tenant_scope(world.b.body):
        form = SiteForm(data={"holder": world.a.holder.pk, "name": "Plant"})
        assert not form.is_valid()
        assert "holder" in form.errors
        form = SiteForm(data={"holder": world.b.holder.pk, "name": "Plant"})
        assert form.is_valid(), form.errors


def test_reverse_related_manager_is_scoped(world):
    with tenant_scope(world.a.body, holder=world.a.holder2):
        assert list(world.a.holder.memberships.all()) == []
    with tenant_scope(world.a.body):
        assert world.a.holder.memberships.count() == 1


def test_cross_tenant_foreign_key_is_refused(world):
    with tenant_scope(world.b.body):
        with pytest.raises(CrossTenantReference):
            Site.objects.create(body=world.b.body, holder=world.a.holder, name="Smuggled")
    with scopes_disabled("test"):
        with pytest.raises(CrossTenantReference):
            Site(body=world.b.body, holder_id=world.a.holder.pk, name="By id").save()
        assert not Site.objects.filter(name__in=["Smuggled", "By id"]).exists()


def test_writing_a_row_of_another_body_under_a_scope_is_refused(world):
    with tenant_scope(world.b.body):
        holder = world.a.holder
        holder.name = "Renamed by B"
        with pytest.raises(CrossTenantReference):
            holder.save()
    with scopes_disabled("test"):
        assert LicenceHolder.objects.get(pk=world.a.holder.pk).name == "Alpha Body Holder One"


def test_update_and_delete_through_the_manager_are_scoped(world):
    with tenant_scope(world.b.body):
        assert LicenceHolder.objects.filter(pk=world.a.holder.pk).update(name="x") == 0
    with tenant_scope(world.a.body, holder=world.a.holder2):
        assert Site.objects.filter(holder=world.a.holder).count() == 0


def test_body_task_runs_in_the_given_bodys_scope(world):
    from certification.tenancy import body_task

    @body_task
    def count_holders(body_id):
        return LicenceHolder.objects.count()

    assert count_holders(world.a.body.pk) == 2
    with pytest.raises(ScopeError):
        LicenceHolder.objects.count()
