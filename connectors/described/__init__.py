"""Processors whose APIs are plain REST, described in this folder's YAML files and run by one connector."""

from __future__ import annotations

from pathlib import Path

from connectors.described.connector import DescribedConnector, connector_for
from connectors.described.model import Description, DescriptionError, load_description

FOLDER = Path(__file__).parent


def descriptions(folder: Path = FOLDER) -> dict[str, Description]:
    """Every description in the folder, by processor name (the file's stem must be the name)."""
    found = {path.stem: load_description(path) for path in sorted(folder.glob("*.yaml"))}
    for stem, description in found.items():
        if description.system != stem:
            raise DescriptionError(f"{folder / stem}.yaml: system is {description.system!r}; name the file after it")
    return found


def described_connectors(folder: Path = FOLDER) -> dict[str, type[DescribedConnector]]:
    """A connector class per description."""
    return {system: connector_for(found) for system, found in descriptions(folder).items()}
