"""The tasks' retry condition (their retry_condition_fn): Prefect retries a whole task for a crash, never for a
processor's answer."""

from __future__ import annotations

from prefect import Task
from prefect.client.schemas.objects import State, TaskRun

from connectors.contract import ConnectorError


def not_connector_error(task: Task[..., object], task_run: TaskRun, state: State[object]) -> bool:
    """Retry a task that crashed; a processor's error was already retried in the HTTP client."""
    # For a raised exception Prefect hands over a Failed state whose data is the exception.
    return not isinstance(state.data, ConnectorError)
