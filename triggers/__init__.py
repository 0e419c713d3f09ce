"""The way in: the signed-webhook receiver (ASGI), its signature check, and dispatch to Prefect."""
