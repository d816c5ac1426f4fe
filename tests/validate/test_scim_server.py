"""Against a real scim2-server: its own /Schemas (stored by ``recon discover``) drive validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recon.capabilities import load_capabilities
from recon.cli import main
from recon.store import Store
from recon.validate import validate_export
from tests.scim_server import ScimServerFactory
from tests.validate.helpers import ENT, USER, Exports, found, user

pytestmark = pytest.mark.live


@pytest.mark.slow
def test_discover_extract_validate_against_the_servers_schemas(
    scim_server: ScimServerFactory,
    store: Store,
    exports: Exports,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = scim_server("rich", users=15, groups=2)
    monkeypatch.setenv("VALIDATE_TEST_TOKEN", server.token)
    config = tmp_path / "recon.toml"
    config.write_text(
        f'[systems.live]\nbase_url = "{server.base_url}"\ntoken_env = "VALIDATE_TEST_TOKEN"\n',
        encoding="utf-8",
    )
    common = ["--config", str(config), "--data-dir", str(store.root)]
    assert main(["discover", "--system", "live", *common]) == 0
    assert main(["extract", "--system", "live", "--cycle", "c1", *common]) == 0
    capsys.readouterr()

    # the server's /Schemas as stored: validation reads them, not only the RFC built-ins
    capabilities = load_capabilities(store, "live")
    assert capabilities is not None
    served = {s["id"] for s in capabilities.advertised["schemas"]}
    assert {USER, ENT} <= served
    assert main(["validate", "--system", "live", "--json", *common]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["declared"]["from"].startswith("server /Schemas and /ResourceTypes")
    assert report["resources"] == {"User": 15, "Group": 2}
    assert report["total"] == 0  # what the server returns conforms to what it declares
    assert report["census"]["User"][f"{ENT}:department"] == 15

    # the same declarations applied to an export that breaks them
    exports.add(
        [
            user("leak", password="s3cret"),
            user("badge", schemas=[USER, ENT], **{ENT: {"badgeNumber": "7", "department": "Ops"}}),
            user("twin-a", userName="Same@Example.com"),
            user("twin-b", userName="same@example.com"),
            user("ok", schemas=[USER, ENT], **{ENT: {"costCenter": "42"}}),
        ],
        system="live",
        cycle="c2",
    )
    summary = validate_export(store, "live", "c2")
    assert summary.declared_from.startswith("server /Schemas")
    assert found(summary.findings_path) == {
        ("leaked_attribute", "User", "leak", "password"),
        ("undeclared_attribute", "User", "badge", f"{ENT}:badgeNumber"),
        ("user_name_collision", "User", "twin-a", "userName"),
        ("user_name_collision", "User", "twin-b", "userName"),
    }
