def tenancy(request):
    return {
        "current_body": getattr(request, "tenant", None),
        "current_membership": getattr(request, "membership", None),
        "current_holder_membership": getattr(request, "holder_membership", None),
        "current_lab_membership": getattr(request, "lab_membership", None),
    }
