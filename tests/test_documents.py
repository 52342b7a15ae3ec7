"""Shared PDF rendering: real PDFs, text checked, deterministic, no file:// or network fetches."""

import io

import pytest
from django.template import engines
from pypdf import PdfReader
from weasyprint import HTML

from certification.documents import ForbiddenResource, StaticOnlyFetcher, render_pdf, sha256


def pdf_text(data):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_render_is_a_real_pdf_with_the_text(tmp_path, settings):
    template = tmp_path / "doc.html"
    template.write_text('{% extends "documents/base.html" %}{% block content %}<h1>{{ heading }}</h1>'
                        "<p>Licence COPRO-BENOR-000042 — Asfalt Vlaanderen NV</p>{% endblock %}")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}]
    engines._engines = {}
    engines.__dict__.pop("templates", None)
    data = render_pdf("doc.html", {"heading": "Certificate"}, title="Certificate")
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    assert "Certificate" in text and "COPRO-BENOR-000042" in text and "Asfalt Vlaanderen NV" in text
    again = render_pdf("doc.html", {"heading": "Certificate"}, title="Certificate")
    assert sha256(again) == sha256(data)
    different = render_pdf("doc.html", {"heading": "Other"}, title="Certificate")
    assert sha256(different) != sha256(data)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://127.0.0.1:9/logo.png", "https://example.org/x.css",
                                 "static:///../../certification/settings.py"])
def test_fetcher_refuses_everything_but_our_static_files(url):
    html = HTML(string=f'<link rel="stylesheet" href="{url}"><img src="{url}">', base_url="static:///",
                url_fetcher=StaticOnlyFetcher())
    with pytest.raises(ForbiddenResource):
        html.write_pdf()


def test_fetcher_serves_static_files():
    html = HTML(string='<link rel="stylesheet" href="/static/css/app.css"><p>ok</p>', base_url="static:///",
                url_fetcher=StaticOnlyFetcher())
    assert html.write_pdf().startswith(b"%PDF-")
