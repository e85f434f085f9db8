"""schemathesis against the OpenAPI document of a live server: no 5xx, whatever the input."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from bgw_pipeline_tests.api.live_server import demo_database, live_server, server_env


@pytest.mark.slow
def test_no_server_errors_for_generated_requests(tmp_path: Path) -> None:
    db_url = demo_database(tmp_path, 0.01)
    tried: list[str] = []
    with live_server(server_env(tmp_path, db_url, MAX_IMPORT_MB="2"), tmp_path) as base:
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        for result in schema.get_all_operations():
            operation = result.ok()

            @given(case=operation.as_strategy())
            @settings(max_examples=12, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))  # fmt: skip
            def check(case: schemathesis.Case) -> None:
                response = case.call(timeout=120)
                where = f"{case.method} {case.formatted_path}"
                assert response.status_code < 500, (where, response.text[:300])
                if response.status_code >= 400:
                    assert isinstance(response.json().get("detail"), str), where

            check()
            tried.append(operation.label)
    assert len(tried) >= 9, tried
