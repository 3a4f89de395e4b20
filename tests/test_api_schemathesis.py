"""Schemathesis over the app's own OpenAPI document: generated requests (valid and invalid) to every operation
never get a 5xx, and every response is of a declared content type and valid against its declared schema.
Examples per operation: a twentieth of the hypothesis profile's budget (8 on the derandomized "ci" profile, 500 on
"fuzz")."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from assistant.config import Settings
from assistant.runtime import Runtime
from assistant.store.loading import ensure_sample_store
from ui.api import create_app
from ui.api.settings import ApiSettings

KEY = "schemathesis-key"
REVIEWER = "schemathesis-reviewer"
EXAMPLES = max(8, settings.default.max_examples // 20)
CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    settings_ = Settings(
        data_dir=tmp_path_factory.mktemp("schemathesis") / "data",
        llm="none",
        secret_keys=[KEY],
        reviewer_tokens=[REVIEWER],
        protect_internals=False,  # the schema is read without a key
    )
    runtime = Runtime(settings_)
    ensure_sample_store(runtime, progress=False)
    app = create_app(runtime, api_settings=ApiSettings(rate_limit_per_ip=0, rate_limit_per_key=0))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case) -> None:  # type: ignore[no-untyped-def]
    headers = {"X-API-Key": KEY}
    if case.path.startswith("/v1/review"):
        headers = {"Authorization": f"Bearer {REVIEWER}"}
    case.call_and_validate(headers=headers, checks=CHECKS)
