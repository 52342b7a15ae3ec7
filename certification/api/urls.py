def register(router):
    """The project package registers no viewsets; /api/v1/me/ and the schema are plain routes."""
