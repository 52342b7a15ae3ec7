"""PDF rendering shared by every app (certificates, reports, labels, information packs).

WeasyPrint renders HTML from our templates. Its URL fetcher is restricted: only our own static files
(read from the staticfiles finders/storage) and inline ``data:`` URLs; never ``file://`` paths given in
content, never the network. Identical input gives byte-identical PDFs (fixed metadata, no timestamps),
so the SHA-256 of a document identifies its content.
"""

import hashlib
import mimetypes
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse


class ForbiddenResource(FatalURLFetchingError):
    """Raised (and not swallowed by WeasyPrint) when a document asks for anything but our static files."""


class StaticOnlyFetcher(URLFetcher):
    """Serves ``static:`` and ``data:`` URLs; refuses ``file:``, ``http(s):`` and everything else."""

    def __init__(self):
        super().__init__(allowed_protocols={"static", "data"}, allow_redirects=False, fail_on_errors=True)

    def fetch(self, url, headers=None):
        if url.startswith("data:"):
            return super().fetch(url, headers)
        if url.startswith(settings.STATIC_URL):
            url = "static:///" + url[len(settings.STATIC_URL):]
        parsed = urlparse(url)
        if parsed.scheme != "static":
            raise ForbiddenResource(f"PDF rendering may not fetch {url!r}")
        relative = (parsed.netloc + parsed.path).lstrip("/")
        if relative.startswith(settings.STATIC_URL.strip("/") + "/"):
            relative = relative[len(settings.STATIC_URL.strip("/")) + 1:]
        if ".." in relative.split("/"):
            raise ForbiddenResource(url)
        path = finders.find(relative)
        if path is None:
            raise ForbiddenResource(f"no such static file: {relative}")
        with open(path, "rb") as handle:
            data = handle.read()
        mime_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=data, headers={"Content-Type": mime_type})


def render_pdf(template_name, context, *, title="", lang="en"):
    """Render a template to PDF bytes, deterministically."""
    html = render_to_string(template_name, {**context, "pdf_title": title, "pdf_lang": lang})
    document = HTML(string=html, base_url="static:///", url_fetcher=StaticOnlyFetcher())
    # No creation/modification dates: the same input must give the same bytes (and hash).
    return document.write_pdf(uncompressed_pdf=False, custom_metadata=False, pdf_identifier=b"certification")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
