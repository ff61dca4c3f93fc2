"""The PIIQueue CRD as the operator reads it: the chart's file, shipped in this package.

``piiqueues.piiq.dev.yaml`` here is a symbolic link to charts/piiq/crds/ (the CRD's one
home); building the wheel (and so the image) copies the file it points to.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml

from . import VERSION

FILE = "piiqueues.piiq.dev.yaml"


@functools.cache
def crd() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(
        resources.files("piiq_operator").joinpath(FILE).read_text()
    )
    return document


def spec_schema() -> dict[str, Any]:
    """The openAPIV3Schema of ``spec`` in the version the operator serves."""
    (version,) = (v for v in crd()["spec"]["versions"] if v["name"] == VERSION)
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return schema
