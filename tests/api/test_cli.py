"""``tracehound serve`` and ``tracehound keys``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
from typer.testing import CliRunner

from tracehound.cli import app

from .conftest import live_server, server_env

runner = CliRunner()


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'k.db').as_posix()}"
    created = runner.invoke(
        app, ["keys", "create", "--project", "shop", "--name", "ci", "--store", url]
    )
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[0]
    assert key.startswith("thk_") and len(key) == 4 + 12 + 1 + 43
    key_id = key.split("_")[1]
    listed = runner.invoke(app, ["keys", "list", "--store", url])
    assert listed.exit_code == 0 and key_id in listed.stdout and "shop" in listed.stdout
    assert key.split("_", 2)[2] not in listed.stdout  # never the secret
    assert "active" in listed.stdout
    other = runner.invoke(app, ["keys", "list", "--project", "other", "--store", url])
    assert "no API keys" in other.stdout
    wrong_project = runner.invoke(
        app, ["keys", "revoke", key_id, "--project", "other", "--store", url]
    )
    assert wrong_project.exit_code == 1
    revoked = runner.invoke(app, ["keys", "revoke", key_id, "--store", url])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in runner.invoke(app, ["keys", "list", "--store", url]).stdout
    again = runner.invoke(app, ["keys", "revoke", key_id, "--store", url])
    assert again.exit_code == 1
    bad = runner.invoke(app, ["keys", "create", "--project", "", "--store", url])
    assert bad.exit_code == 1


def test_serve_refuses_no_auth_off_localhost(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 's.db').as_posix()}"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "tracehound",
            "serve",
            "--host",
            "0.0.0.0",
            "--no-auth",
            "--store",
            url,
        ],
        capture_output=True,
        text=True,
        env=server_env(),
        timeout=60,
    )
    assert out.returncode == 1
    assert "only on localhost" in out.stderr


def test_serve_without_auth_on_localhost_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 's.db').as_posix()}"
    with live_server(url, "--no-auth", "--project", "local-dev") as server:
        banner = server.banner  # type: ignore[attr-defined]
        assert "auth is OFF" in banner and "local-dev" in banner
        assert httpx.get(f"{server.base}/readyz").json()["status"] == "ready"
        assert httpx.get(f"{server.base}/v1/whoami").json()["project"] == "local-dev"
        doc = httpx.get(f"{server.base}/openapi.json").json()
        assert doc["info"]["title"] == "tracehound"


def test_serve_with_an_unusable_store_fails_cleanly(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tracehound", "serve", "--store", "mysql://nope"],
        capture_output=True,
        text=True,
        env=server_env(),
        timeout=60,
    )
    assert out.returncode == 1 and "unsupported database URL" in out.stderr
