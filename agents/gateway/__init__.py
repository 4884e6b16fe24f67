"""The OpenClaw side of Mission Control: the gateway client, agent provisioning, the
lifecycle that watches agents, and the notifications pushed to them. Everything here
runs in the worker, never inside a web request.

The client, bottom up:

- ``identity`` the Ed25519 device key; ``frames`` the JSON frames; ``errors`` every
  failure as one exception family with operator sentences;
- ``transport`` resolve, TCP, TLS and the WebSocket upgrade, step by step; ``wire``
  request and answer over an open socket; ``handshake`` challenge, signed connect, hello;
- ``retry`` which calls may be repeated and the backoff; ``counters`` traffic figures;
- ``client`` one live connection per gateway; ``pool`` the one client per gateway in
  this process; ``check`` the staged check of a gateway; ``compatibility`` releases and
  required methods.
"""
