from __future__ import annotations

import json

from tests.conftest import World, account_body


def test_sync_prune_command_reports_and_keeps_recent_changes(app, client, world: World) -> None:
    client.post("/api/v1/accounts", json=account_body(), headers=world.rep.headers)
    result = app.test_cli_runner().invoke(args=["sync", "prune", "--days", "30"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["pruned_changes"] == 0  # nothing is 30 days old
    bad = app.test_cli_runner().invoke(args=["sync", "prune", "--days", "0"])
    assert bad.exit_code != 0
