"""An execution's display name and description: set by the client and the CLI, shown by
describe (the seed's spawn options; the UI shows them too)."""

from __future__ import annotations

from kontinue.api import labels
from kontinue.client import Client

from .conftest import Cli


def test_spawn_sets_a_display_name_and_a_description(cli: Cli) -> None:
    with Client.from_kubeconfig(cli.env.kubeconfig, namespace=cli.env.namespace) as client:
        execution = client.spawn(
            "approve", display_name="Deploy web to prod", description="Release 42, ticket OPS-7"
        )
    notes = execution.metadata.annotations
    assert notes[labels.ANNOTATION_DISPLAY_NAME] == "Deploy web to prod"
    assert notes[labels.ANNOTATION_DESCRIPTION] == "Release 42, ticket OPS-7"


def test_execute_takes_them_and_describe_shows_them(cli: Cli) -> None:
    created = cli.here(
        "-o", "name", "execute", "approve",
        "--display-name", "Nightly migration",
        "--description", "Moves the orders table",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    name = created.stdout.strip().split("/")[-1]
    described = cli.here("describe", name)
    assert described.returncode == 0, described.stderr
    assert "Display name:" in described.stdout and "Nightly migration" in described.stdout
    assert "Description:" in described.stdout and "Moves the orders table" in described.stdout
