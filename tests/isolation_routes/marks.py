from tests.isolation import Walk

ROUTES = {
    "api:mark-detail": Walk(lambda w: {"code": "benor"}, owner=None, object_route=False),
    "api:category-detail": Walk(lambda w: {"code": "geotextiles"}, owner=None, object_route=False),
}
UNWALKABLE = {}
