"""Fixtures for study tests."""

import base64
import re

import pytest


def _embedded_pngs(html: str) -> list[bytes]:
    srcs = re.findall(r'<img[^>]*src="([^"]*)"', html)
    assert all(s.startswith("data:image/png;base64,") for s in srcs), srcs
    pngs = [base64.b64decode(s.split(",", 1)[1], validate=True) for s in srcs]
    assert all(p.startswith(b"\x89PNG\r\n\x1a\n") and len(p) > 500 for p in pngs)
    return pngs


@pytest.fixture
def embedded_pngs():
    """``embedded_pngs(html)``: every <img> of a report decoded; each must be a data-URI PNG,
    so the page opens offline with every image loading."""
    return _embedded_pngs
