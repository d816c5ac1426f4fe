"""Against a real scim2-server serving its own /Schemas: who decides caseExact for `recon deltas`.

The server declares a custom extension whose ``badge`` is ``caseExact: true``. A user's badge
is only re-cased (PATCH, so lastModified moves and the delta returns it). With the server's
/Schemas stored by ``recon discover`` that is a change (returned: no finding); with RFC 7643's
defaults (nothing stored; an undeclared attribute is caseExact=false) it is not, and the
returned user is ``unchanged_returned``.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from recon.capabilities import load_capabilities
from recon.cli import main
from recon.deltas import deltas
from recon.store import Store
from tests.scim_server import ENTERPRISE, USER_SCHEMA, ScimServerFactory

pytestmark = pytest.mark.live

ACME = "urn:example:params:scim:schemas:extension:acme:2.0:User"


def _defaults(name: str) -> list[dict[str, Any]]:
    text = (resources.files("scim2_server") / "resources" / name).read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def _served() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    acme = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": ACME,
        "name": "AcmeUser",
        "description": "Acme's user attributes",
        "attributes": [
            {
                "name": "badge",
                "type": "string",
                "multiValued": False,
                "required": False,
                "caseExact": True,
                "mutability": "readWrite",
                "returned": "default",
                "uniqueness": "none",
            }
        ],
        "meta": {"resourceType": "Schema", "location": f"/v2/Schemas/{ACME}"},
    }
    types = _defaults("default-resource-types.json")
    for resource_type in types:
        if resource_type["id"] == "User":
            resource_type["schemaExtensions"].append({"schema": ACME, "required": False})
    return [*_defaults("default-schemas.json"), acme], types


def test_a_server_schema_with_case_exact_true_makes_a_re_cased_value_a_change(
    scim_server: ScimServerFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schemas, types = _served()
    server = scim_server("rich", schemas=schemas, resource_types=types)
    body = {
        "schemas": [USER_SCHEMA, ENTERPRISE, ACME],
        "userName": "badge.holder@example.com",
        ACME: {"badge": "Blue-7"},
    }
    uid = server.create_user(body)
    other = server.create_user({**body, "userName": "other@example.com"})
    monkeypatch.setenv("DELTAS_TEST_TOKEN", server.token)
    config = tmp_path / "recon.toml"
    config.write_text(
        f'[systems.live]\nbase_url = "{server.base_url}"\ntoken_env = "DELTAS_TEST_TOKEN"\n', encoding="utf-8"
    )
    store = Store(tmp_path / "data")
    common = ["--config", str(config), "--data-dir", str(store.root)]
    assert main(["discover", "--system", "live", *common]) == 0
    assert main(["extract", "--system", "live", "--cycle", "c1", *common]) == 0
    time.sleep(1.1)  # lastModified has whole seconds on some servers: the watermark must fall between
    watermark = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    time.sleep(1.1)
    assert server.get_user(uid)[ACME]["badge"] == "Blue-7"
    server.patch_user(uid, {ACME: {"badge": "BLUE-7"}})  # only re-cased; PATCH bumps lastModified
    assert server.get_user(uid)[ACME]["badge"] == "BLUE-7"
    assert main(["extract", "--system", "live", "--cycle", "c2", *common]) == 0
    assert main(["extract", "--system", "live", "--cycle", "c2", "--since", watermark, *common]) == 0

    stored = load_capabilities(store, "live")
    assert stored is not None and ACME in {s["id"] for s in stored.advertised["schemas"]}
    summary = deltas(store, "live", "c1", "c2")
    assert summary.content_schema.startswith("server /Schemas")
    found = pl.read_parquet(summary.findings_path)
    assert found.height == 0, found.to_dicts()  # changed (caseExact: true) and returned
    assert summary.by_path["User"] == {
        f"{ACME}:badge": {"changed": 1, "returned": 1, "missed": 0, "stale_last_modified": 0}
    }

    # the same exports with RFC 7643's defaults: nothing stored by discover
    (store.capabilities_dir("live") / "capabilities.json").unlink()
    summary = deltas(store, "live", "c1", "c2")
    assert summary.content_schema.startswith("RFC 7643")
    rows = pl.read_parquet(summary.findings_path).to_dicts()
    assert [(r["kind"], r["id"]) for r in rows] == [("unchanged_returned", uid)]
    assert rows[0]["detail"].endswith("no attribute changed")
    assert other not in {r["id"] for r in rows}
