"""The OpenClaw side of Mission Control: the gateway client, agent provisioning, the
lifecycle that watches agents, and the notifications pushed to them. Everything here
runs in the worker, never inside a web request."""
