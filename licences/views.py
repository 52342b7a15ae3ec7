from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from certification import selectors as audit_selectors
from certification.access import staff_required
from licences import selectors, services
from licences.forms import HolderForm


@staff_required()
def holder_list(request):
    holders = selectors.holders_for_staff()
    query = request.GET.get("q", "").strip()
    if query:
        holders = holders.filter(Q(name__icontains=query) | Q(company_number__icontains=query))
    page = Paginator(holders.order_by("name", "pk"), 50).get_page(request.GET.get("page"))
    return render(request, "licences/holder_list.html", {"page": page, "q": query})


@staff_required("registry.edit")
def holder_create(request):
    form = HolderForm(request.POST or None, instance=None)
    if request.method == "POST":
        form.instance.body = request.tenant
        if form.is_valid():
            holder = services.do_register_holder(body=request.tenant, **form.cleaned_data)
            messages.success(request, _("Licence-holder registered."))
            return redirect("staff:holder-detail", pk=holder.pk)
    return render(request, "licences/holder_form.html", {"form": form})


@staff_required()
def holder_detail(request, pk):
    holder = get_object_or_404(selectors.holders_for_staff(), pk=pk)
    context = {
        "holder": holder,
        "users": selectors.holder_users(holder),
        "sites": holder.sites.all(),
        "products": holder.products.select_related("category", "site"),
        "applications": selectors.applications().filter(holder=holder),
        "licences": selectors.licences().filter(holder=holder),
        "events": audit_selectors.audit_trail(holder)[:50],
    }
    return render(request, "licences/holder_detail.html", context)


@staff_required("registry.edit")
def holder_edit(request, pk):
    """Edit a holder. The form carries the row_version it was loaded with: if someone saved the holder in the
    meantime, nothing is written; the form comes back with the user's input kept, the other person's values
    shown next to it, and the current version, so that saving again is a deliberate choice."""
    holder = get_object_or_404(selectors.holders_for_staff(), pk=pk)
    form = HolderForm(request.POST or None, instance=holder)
    conflict = []
    if request.method == "POST" and form.is_valid():
        changes = {f: form.cleaned_data[f] for f in form.changed_data if f != "row_version"}
        try:
            services.do_update_holder(holder=holder, changes=changes,
                                      expected_version=form.cleaned_data.get("row_version"))
        except services.StaleEdit as exc:
            current = get_object_or_404(selectors.holders_for_staff(), pk=pk)
            conflict = [(form[name].label, form.cleaned_data[name], getattr(current, name))
                        for name in HolderForm.Meta.fields if form.cleaned_data[name] != getattr(current, name)]
            data = request.POST.copy()
            data["row_version"] = str(current.row_version)
            form = HolderForm(data, instance=current)
            form.is_valid()
            form.add_error(None, f"{exc.messages[0]} " + _("Nothing was saved. Your input is kept below; the values "
                                                          "saved meanwhile are listed. Save again to overwrite them."))
        else:
            messages.success(request, _("Licence-holder updated."))
            return redirect("staff:holder-detail", pk=holder.pk)
    return render(request, "licences/holder_form.html", {"form": form, "holder": holder, "conflict": conflict})
