"""schemathesis against the REAL service's /openapi.json (``edl serve issuer`` in a subprocess, on
SQLite and on PostgreSQL): generated requests, valid and invalid, with an admin API key so they get
past authentication; not one may get a server error (5xx), and every refusal is JSON
``{code, message}``. A fixed seed and a bounded number of examples keep it under a minute."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from issuertest import CITY, Server, api_key, copy_keystore, database, issue_body, make_keystore
from schemathesis import GenerationMode

EXAMPLES = 8
NUMBER = "QD-FUZZ-1"
PINNED = {"city": CITY, "document_number": NUMBER}  # half the runs reach a real licence


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(request, tmp_path_factory):
    base = tmp_path_factory.mktemp("schemathesis")
    ks = copy_keystore(make_keystore(base / "template"), base / "ks")
    with database(request.param, base) as db:
        key = api_key(db, "fuzzer", "admin")
        server = Server(db, ks).start()
        try:
            with httpx.Client(base_url=server.url, timeout=30) as client:  # a licence to work on
                body = issue_body(client, key, ec.generate_private_key(ec.SECP256R1()), NUMBER)
                r = client.post(
                    f"/v1/cities/{CITY}/licences", json=body, headers={"Authorization": f"Bearer {key}"}
                )
                assert r.status_code == 200, r.text
            yield server, key
        finally:
            server.stop()


@pytest.fixture(scope="module")
def api_schema(service):
    server, key = service
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    schema.config.update(base_url=server.url, headers={"Authorization": f"Bearer {key}"})
    return schema


def _check(case, server: Server, key: str, problems: list[str]) -> None:
    response = case.call(headers={"Authorization": f"Bearer {key}"}, timeout=30)
    where = f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
    if response.status_code >= 500:
        body = case.body if not isinstance(case.body, bytes) else case.body[:300]
        problems.append(f"{where}\n  query={case.query} body={str(body)[:500]}")
    elif response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not (isinstance(body, dict) and {"code", "message"} <= set(body)):
            problems.append(f"{where}: not JSON {{code, message}}")


@pytest.mark.slow
def test_no_server_errors(api_schema, service):
    server, key = service
    problems: list[str] = []
    ran = 0
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 4, [op.label for op in operations]
    variants = [(mode, pin) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) for pin in (0, 1)]
    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        for mode, pin in variants:
            if pin and not names:
                continue
            pinned = (
                {k: v for k, v in (("city", CITY), ("document_number", NUMBER)) if k in names}
                if pin
                else None
            )

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.generate],
            )
            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=pinned))
            def run(case):
                _check(case, server, key, problems)

            try:
                run()
            except Unsatisfiable:  # nothing to break in it (GET /health in the negative mode)
                assert mode is GenerationMode.NEGATIVE, operation.label
            else:
                ran += 1
    assert ran >= 2 * len(operations), ran  # every operation, and most of them with invalid data too
    assert problems == [], "server errors:\n" + "\n".join(problems[:10]) + "\n" + server.log_text()[-1500:]
