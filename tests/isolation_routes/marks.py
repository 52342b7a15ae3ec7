from tests.isolation import Walk


def _version(w):
    return {"pk": w.a.regulation_version.pk}


def _draft(w):
    return {"pk": w.a.regulation_draft.pk}


ROUTES = {
    "api:mark-detail": Walk(lambda w: {"code": "benor"}, owner=None, object_route=False),
    "api:category-detail": Walk(lambda w: {"code": "geotextiles"}, owner=None, object_route=False),
    "api:regulation-detail": Walk(lambda w: {"pk": w.a.regulation.pk}),
    "api:regulation-version-detail": Walk(_version, owner_sees_marker=True),
    "staff:regulation-detail": Walk(lambda w: {"pk": w.a.regulation.pk}),
    "staff:regulation-draft": Walk(lambda w: {"pk": w.a.regulation.pk}),
    "staff:version-detail": Walk(_version, owner_sees_marker=True),
    "staff:version-edit": Walk(_draft, owner_sees_marker=True),
    "staff:version-publish": Walk(_draft, owner_sees_marker=True),
    "staff:version-compare": Walk(_draft, owner_sees_marker=True),
    "staff:version-import": Walk(_draft),
    # the world's versions carry no PDF (the owner would get 404); tests/test_marks_pages.py covers the download
    "staff:version-document": Walk(_version, owner=None),
    "staff:version-export-csv": Walk(_version, owner_sees_marker=True),
    "staff:version-export-json": Walk(_version, owner_sees_marker=True),
}
UNWALKABLE = {}
