"""Printable sample labels: code, seal, product, and a QR code (segno) pointing at the sample."""

import segno
from django.conf import settings
from django.urls import reverse

from certification.documents import render_pdf


def label_url(sample):
    return settings.SITE_URL.rstrip("/") + reverse("lab:sample-detail", kwargs={"pk": sample.pk})


def label_pdf(sample):
    qr = segno.make(f"{sample.code} {label_url(sample)}", error="m")
    return render_pdf("sampling/label.html", {"sample": sample, "qr": qr.svg_data_uri(scale=4, border=1)},
                      title=f"Sample {sample.code}")
