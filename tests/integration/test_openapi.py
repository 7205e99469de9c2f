"""The API document: valid OpenAPI 3.1, and a readable page served without any CDN."""
import re

import requests
from openapi_spec_validator import validate


def test_openapi_document_is_valid_3_1(platform):
    document = requests.get(platform.url() + "/openapi.json", timeout=10).json()
    assert document["openapi"].startswith("3.1")
    validate(document)
    assert "/logs/{log_id}" in document["paths"]


def test_the_docs_page_uses_only_vendored_assets(platform):
    page = requests.get(platform.url() + "/api-docs", timeout=10)
    assert page.status_code == 200 and '<html lang="nb">' in page.text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/api-docs/assets/") for s in sources)
    for source in sources:
        asset = requests.get(platform.url() + source, timeout=10)
        assert asset.status_code == 200 and len(asset.content) > 100
    assert requests.get(platform.url() + "/api-docs/assets/../service.py",
                        timeout=10).status_code == 404
