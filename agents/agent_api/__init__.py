"""The agent API (``/api/v1/agent/...``): what OpenClaw agents call from their heartbeat loop."""
