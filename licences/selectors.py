"""Read paths of licences/: tenant-scoped querysets."""

from licences.models import HolderMembership, LicenceHolder


def holders_for_staff():
    return LicenceHolder.objects.all()


def holder_users(holder):
    return HolderMembership.objects.filter(holder=holder).select_related("user").order_by("user__email")
