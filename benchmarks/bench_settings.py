"""Settings of the benchmark server: the project's, plus a URLconf that adds a bare Django view."""

from certification.settings import *  # noqa: F401,F403

ROOT_URLCONF = "benchmarks.bench_urls"
