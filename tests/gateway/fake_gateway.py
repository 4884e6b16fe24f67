"""A fake OpenClaw gateway for tests: a websockets sync server on 127.0.0.1 that speaks the
frames the real 2026.9.6 and 2026.4.29 gateways were seen to speak
(docs/gateways.md describes them), with faults a test can switch on.

It checks what a real gateway checks at connect (token, protocol range, client fields,
the Ed25519 device proof by the same payload rules, pairing) and keeps a small state
behind the methods Mission Control uses: agents (kept in the config, as the real one
does), workspace files, config with a hash, chat runs and sessions. The device proof is
verified here by code of its own, not by the client's, so a mistake in the client's
payload cannot be mirrored by the fake.

Every connection and every call is recorded for assertions.
"""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import hmac
import itertools
import json
import os
import re
import shutil
import socket
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.x509.oid import NameOID
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from tests.ops import servers

V9 = "2026.9.6"
V4 = "2026.4.29"

CLIENT_IDS = frozenset({
    "webchat-ui", "openclaw-control-ui", "openclaw-browser-copilot", "openclaw-tui", "webchat", "cli",
    "gateway-client", "openclaw-macos", "openclaw-linux", "openclaw-ios", "openclaw-watchos",
    "openclaw-android", "node-host", "openclaw-worker", "test", "fingerprint", "openclaw-probe",
})
CLIENT_MODES = frozenset({"webchat", "cli", "ui", "backend", "node", "worker", "probe", "test"})

FILES_V9 = ("AGENTS.md", "SOUL.md", "IDENTITY.md", "USER.md", "BOOTSTRAP.md", "MEMORY.md")
FILES_V4 = ("AGENTS.md", "SOUL.md", "TOOLS.md", "IDENTITY.md", "USER.md", "HEARTBEAT.md", "BOOTSTRAP.md",
            "MEMORY.md")

READ, WRITE, ADMIN = "operator.read", "operator.write", "operator.admin"
# Which scope each method needs (health needs none); write covers read, admin covers both.
METHOD_SCOPES: dict[str, str | None] = {
    "health": None, "status": READ, "config.get": READ, "agents.list": READ, "agents.files.list": READ,
    "agents.files.get": READ, "sessions.list": READ, "chat.history": READ, "chat.send": WRITE,
    "config.patch": ADMIN, "agents.create": ADMIN, "agents.update": ADMIN, "agents.delete": ADMIN,
    "agents.files.set": ADMIN, "sessions.delete": ADMIN,
}
EVENTS = ("connect.challenge", "agent", "chat", "health", "tick", "shutdown", "sessions.changed", "presence",
          "cron", "device.pair.requested")
SLUG = re.compile(r"[^a-z0-9_-]+")


class Refusal(Exception):
    """An error answer: ``{"ok": false, "error": {...}}``."""

    def __init__(self, message: str, code: str = "INVALID_REQUEST", details: dict[str, Any] | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.error: dict[str, Any] = {"code": code, "message": message}
        if details is not None:
            self.error["details"] = details
        self.error.update(extra)


@dataclass
class Faults:
    """Switched per test; counts go down as faults fire."""

    no_challenge: bool = False
    # method -> how many times the connection is cut (no close frame) when that method arrives.
    drop_on: dict[str, int] = field(default_factory=dict)
    # method -> seconds to wait before answering.
    slow: dict[str, float] = field(default_factory=dict)
    # method -> how many times that call triggers a restart: the shutdown event, then close 1012
    # for every connection. 9.6 answers the call first; 4.29 closes before the answer.
    restart_on: dict[str, int] = field(default_factory=dict)
    restart_answers_first: bool = True
    restart_expected_ms: int = 50
    # How many connects after a restart are answered "gateway starting".
    starting_after_restart: int = 1
    # The next N connects get UNAVAILABLE with retryAfterMs, then close 1013.
    starting_connects: int = 0
    starting_retry_after_ms: int = 30
    # agents.create answers "already exists" whatever the name.
    create_exists: bool = False
    # After agents.create, the next N calls naming the new agent answer "not found" (9.6's window).
    not_found_window: int = 0
    # method -> events sent on the connection before the answer (to interleave frames).
    events_before_answer: dict[str, int] = field(default_factory=dict)
    # config.patch calls allowed per connection before "rate limit exceeded" (None: no limit).
    patch_limit: int | None = None


@dataclass
class ConnectionRecord:
    index: int
    challenge: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    # "hello", or the refusal's details code / error code.
    outcome: str | None = None
    error: dict[str, Any] | None = None
    protocol: int | None = None


@dataclass(frozen=True)
class CallRecord:
    connection: int
    request_id: str
    method: str
    params: dict[str, Any] | None


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _fold(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    return text.translate({c: c + 32 for c in range(ord("A"), ord("Z") + 1)})


def signed_lines(params: dict[str, Any], signed_at: Any, nonce: str) -> list[str]:
    """The device-proof payloads the gateway accepts, newest first (v3, then v2)."""
    client = params.get("client") or {}
    auth = params.get("auth") or {}
    token = auth.get("token") or auth.get("deviceToken") or auth.get("bootstrapToken") or ""
    common = [params["device"]["id"], str(client.get("id", "")), str(client.get("mode", "")),
              str(params.get("role", "")), ",".join(params.get("scopes") or []), str(signed_at), token, nonce]
    return ["|".join(["v3", *common, _fold(client.get("platform")), _fold(client.get("deviceFamily"))]),
            "|".join(["v2", *common])]


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 merge, except that lists of objects with an ``id`` are merged item by item."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        current = result.get(key)
        if value is None:
            result.pop(key, None)
        elif (isinstance(value, list) and isinstance(current, list)
              and all(isinstance(item, dict) and "id" in item for item in value)):
            merged = copy.deepcopy(current)
            for item in value:
                slot = next((i for i, old in enumerate(merged) if isinstance(old, dict) and old.get("id") == item["id"]), None)
                if slot is None:
                    merged.append(copy.deepcopy(item))
                else:
                    merged[slot] = merge_patch(merged[slot], item)
            result[key] = merged
        else:
            result[key] = merge_patch(current, value)
    return result


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        paths: list[str] = []
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                paths += changed_paths(old.get(key), new.get(key), f"{prefix}{key}.")
        return paths
    return [prefix.rstrip(".")] if old != new else []


def _free_port_socket() -> socket.socket:
    """A listening socket on 127.0.0.1: port 0, or with TEST_SERVER_PORT_BASE the first free
    one of 92-99 in this worker's hundred (tests.ops.servers.port): the ops and webhook
    servers use the low numbers and 90, the real gateways 60-89."""
    base = os.environ.get("TEST_SERVER_PORT_BASE")
    candidates = [servers.port(offset) for offset in range(92, 100)] if base else [0]
    last: OSError | None = None
    for port in candidates:
        try:
            return socket.create_server(("127.0.0.1", port))
        except OSError as error:
            last = error
    raise RuntimeError(f"no free port for the fake gateway: {last}")


def self_signed_context(directory: str) -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate for 127.0.0.1, like the one
    gateway.tls.autoGenerate makes (which no client can verify either)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "openclaw-gateway")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    cert_path, key_path = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    with open(cert_path, "wb") as out:
        out.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


class FakeGateway:
    """``with FakeGateway(version=V4) as gateway: ...`` serves at ``gateway.url``.

    ``version`` picks the release whose shapes it speaks (V9 or V4); ``protocol``,
    ``files`` (V9 or V4: whose file allow-list) and ``config_shape`` (``"entries"`` or
    ``"list"``) override single aspects of it. ``granted_scopes`` replaces the scopes
    hello-ok grants (``[]`` is what a remote token-only connect gets)."""

    def __init__(
        self,
        *,
        version: str = V9,
        token: str = "fake-gateway-token",
        protocol: int | None = None,
        files: str | None = None,
        config_shape: str | None = None,
        require_pairing: bool = False,
        granted_scopes: list[str] | None = None,
        advertised_methods: list[str] | None = None,
        tick_interval: float | None = None,
        clock_skew_ms: int = 0,
        handshake_timeout: float = 15.0,
        tls: bool = False,
        faults: Faults | None = None,
    ) -> None:
        self.version = version
        self.newer = version == V9
        self.token = token
        # A real gateway speaks one protocol: 9.6 speaks 4, 4.29 speaks 3.
        self.protocol = protocol if protocol is not None else (4 if self.newer else 3)
        self.files_allowed = FILES_V9 if (files or version) == V9 else FILES_V4
        self.config_shape = config_shape or ("entries" if self.newer else "list")
        self.require_pairing = require_pairing
        self.granted_scopes = granted_scopes
        self.advertised_methods = advertised_methods
        self.tick_interval = tick_interval
        self.clock_skew_ms = clock_skew_ms
        self.handshake_timeout = handshake_timeout
        self.tls = tls
        self.faults = faults or Faults()

        self.connections: list[ConnectionRecord] = []
        self.calls: list[CallRecord] = []
        self.patches = 0
        self.pairing_requests: list[str] = []
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._live: dict[int, ServerConnection] = {}
        self._seq: dict[int, Iterator[int]] = {}
        self._hash_secret = os.urandom(16)
        self._boot_id = str(uuid.uuid4())
        self._home = tempfile.mkdtemp(prefix="fake-openclaw-")
        self._files: dict[tuple[str, str], dict[str, Any]] = {}
        self._runs: dict[str, str] = {}
        self._sessions: dict[str, list[dict[str, Any]]] = {}
        self._not_found: dict[str, int] = {}
        self.config: dict[str, Any] = self._initial_config()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- life --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}"

    def start(self) -> FakeGateway:
        sock = _free_port_socket()
        self.port = sock.getsockname()[1]
        context = self_signed_context(self._home) if self.tls else None
        # A short open_timeout bounds how long stop() waits for a half-open connection. Over
        # TLS it also covers the server's side of the TLS handshake, which took more than 2 s
        # on a busy 2-core machine in a parallel run: TLS gets more.
        self._server = serve(self._handle, sock=sock, ssl=context, ping_interval=None, close_timeout=1,
                             open_timeout=8 if self.tls else 2, max_size=32 * 1024 * 1024)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-gateway", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(5)
        shutil.rmtree(self._home, ignore_errors=True)

    def __enter__(self) -> FakeGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what a test does to it -----------------------------------------------------------

    def emit(self, event: str, payload: Any = None) -> None:
        """Sends ``event`` to every open connection."""
        with self._lock:
            live = list(self._live.items())
        for index, ws in live:
            self._send_event(index, ws, event, payload)

    def send_raw(self, text: str) -> None:
        """Sends ``text`` as it is to every open connection (frames no release sends)."""
        with self._lock:
            live = list(self._live.values())
        for ws in live:
            ws.send(text)

    def restart(self, *, stopping: bool = False) -> None:
        """Announces a restart (or a stop) and closes every connection with 1012."""
        payload: dict[str, Any] = {"reason": "gateway stopping" if stopping else "gateway restarting"}
        if not stopping:
            payload["restartExpectedMs"] = self.faults.restart_expected_ms
            self.faults.starting_connects += self.faults.starting_after_restart
        elif not self.newer:
            payload["restartExpectedMs"] = None
        with self._lock:
            live = list(self._live.items())
            self._boot_id = str(uuid.uuid4())
        for index, ws in live:
            self._send_event(index, ws, "shutdown", payload)
            ws.close(1012, "service restart")

    def calls_of(self, method: str) -> list[CallRecord]:
        return [call for call in self.calls if call.method == method]

    def session(self, session_key: str) -> list[dict[str, Any]]:
        """The messages of a chat session, oldest first."""
        with self._lock:
            return copy.deepcopy(self._sessions.get(session_key, []))

    def agent_ids(self) -> list[str]:
        return list(self._agents())

    def agent_entry(self, agent_id: str) -> dict[str, Any] | None:
        """The agent's entry in the config, as the gateway holds it."""
        return self._agents().get(agent_id)

    def file_content(self, agent_id: str, name: str) -> str | None:
        with self._lock:
            found = self._files.get((agent_id, name))
        return None if found is None else str(found["content"])

    def write_file(self, agent_id: str, name: str, content: str) -> None:
        """The agent (or anyone on the gateway host) edits a workspace file."""
        with self._lock:
            self._files[(agent_id, name)] = {"content": content, "updatedAtMs": int(time.time() * 1000)}

    @property
    def config_hash(self) -> str:
        text = json.dumps(self.config, sort_keys=True).encode()
        if self.newer:
            digest = hmac.new(self._hash_secret, text, hashlib.sha256).digest()
            return "hmac-sha256:v1:" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        return hashlib.sha256(text).hexdigest()

    # --- one connection ------------------------------------------------------------------

    def _send_event(self, index: int, ws: ServerConnection, event: str, payload: Any) -> None:
        frame: dict[str, Any] = {"type": "event", "event": event, "payload": payload}
        with self._lock:
            counter = self._seq.get(index)
            if counter is not None:
                frame["seq"] = next(counter)
        try:
            ws.send(json.dumps(frame))
        except ConnectionClosed:
            pass

    def _handle(self, ws: ServerConnection) -> None:
        with self._lock:
            record = ConnectionRecord(index=len(self.connections))
            self.connections.append(record)
        if self.faults.no_challenge:
            # Say nothing; read until the client gives up or the fake stops.
            try:
                for _ in ws:
                    pass
            except ConnectionClosed:
                pass
            return
        nonce = str(uuid.uuid4())
        ts = int(time.time() * 1000) + self.clock_skew_ms
        record.challenge = {"nonce": nonce, "ts": ts}
        payload: dict[str, Any] = {"nonce": nonce, "ts": ts}
        if self.newer:
            payload["capabilities"] = ["model-catalog-snapshot"]
        ws.send(json.dumps({"type": "event", "event": "connect.challenge", "payload": payload}))
        try:
            first = ws.recv(timeout=self.handshake_timeout)
        except TimeoutError:
            ws.close(1000, "")
            return
        except ConnectionClosed:
            return
        try:
            frame = json.loads(first)
        except ValueError:
            ws.close(1000, "")
            return
        if not isinstance(frame, dict) or frame.get("type") != "req" or frame.get("method") != "connect":
            self._refuse(ws, record, frame.get("id") if isinstance(frame, dict) else None,
                         Refusal("invalid handshake: first request must be connect"), 1008)
            return
        record.params = frame.get("params") or {}
        try:
            hello = self._accept(record, nonce)
        except Refusal as refusal:
            close_code = 1013 if refusal.error["code"] == "UNAVAILABLE" else (
                1002 if refusal.error["message"] == "protocol mismatch" else 1008)
            reason = refusal.error["message"]
            if refusal.error.get("details", {}).get("code") == "PAIRING_REQUIRED":
                reason += f" (requestId: {refusal.error['details']['requestId']})"
            self._refuse(ws, record, frame.get("id"), refusal, close_code, reason)
            return
        with self._lock:
            self._live[record.index] = ws
            self._seq[record.index] = itertools.count(1)
        ws.send(json.dumps({"type": "res", "id": frame.get("id"), "ok": True, "payload": hello}))
        if not self.newer:
            self._send_event(record.index, ws, "health", self._health())
        ticker = None
        if self.tick_interval:
            ticker = threading.Thread(target=self._tick, args=(record.index, ws), daemon=True)
            ticker.start()
        try:
            self._serve_requests(record, ws)
        finally:
            with self._lock:
                self._live.pop(record.index, None)
                self._seq.pop(record.index, None)

    def _refuse(self, ws: ServerConnection, record: ConnectionRecord, request_id: Any, refusal: Refusal,
                close_code: int, reason: str | None = None) -> None:
        record.error = refusal.error
        record.outcome = (refusal.error.get("details") or {}).get("code") or refusal.error["code"]
        try:
            ws.send(json.dumps({"type": "res", "id": request_id, "ok": False, "error": refusal.error}))
            ws.close(close_code, reason if reason is not None else refusal.error["message"])
        except ConnectionClosed:
            pass

    def _tick(self, index: int, ws: ServerConnection) -> None:
        assert self.tick_interval is not None
        while not self._stopping.wait(self.tick_interval):
            with self._lock:
                if index not in self._live:
                    return
            self._send_event(index, ws, "tick", {"ts": int(time.time() * 1000)})

    def _accept(self, record: ConnectionRecord, nonce: str) -> dict[str, Any]:
        params = record.params or {}
        with self._lock:
            if self.faults.starting_connects > 0:
                self.faults.starting_connects -= 1
                raise Refusal("gateway starting; retry shortly", "UNAVAILABLE", {"reason": "startup-sidecars"},
                              retryable=True, retryAfterMs=self.faults.starting_retry_after_ms)
        low, high = params.get("minProtocol"), params.get("maxProtocol")
        if not (isinstance(low, int) and isinstance(high, int) and low <= self.protocol <= high):
            details: dict[str, Any] = {"expectedProtocol": self.protocol}
            if self.newer:
                details = {"code": "PROTOCOL_MISMATCH", "clientMinProtocol": low, "clientMaxProtocol": high,
                           "expectedProtocol": self.protocol, "minimumProbeProtocol": 3}
            raise Refusal("protocol mismatch", details=details)
        client = params.get("client") or {}
        if client.get("id") not in CLIENT_IDS:
            raise Refusal("invalid connect params: at /client/id: must be equal to one of the allowed values")
        if client.get("mode") not in CLIENT_MODES:
            raise Refusal("invalid connect params: at /client/mode: must be equal to one of the allowed values")
        device = params.get("device")
        token = (params.get("auth") or {}).get("token")
        if not token:
            if device is None:
                raise Refusal("device identity required", "NOT_PAIRED", {"code": "DEVICE_IDENTITY_REQUIRED"})
            raise Refusal("unauthorized: gateway token missing (provide gateway auth token)",
                          details={"code": "AUTH_TOKEN_MISSING"})
        if not hmac.compare_digest(str(token), self.token):
            raise Refusal("unauthorized: gateway token mismatch (provide gateway auth token)", details={
                "code": "AUTH_TOKEN_MISMATCH", "authReason": "token_mismatch", "canRetryWithDeviceToken": False,
                "recommendedNextStep": "update_auth_credentials"})
        scopes = list(params.get("scopes") or [])
        if device is not None:
            self._verify_device(params, device, nonce)
            if self.require_pairing:
                request_id = str(uuid.uuid4())
                self.pairing_requests.append(request_id)
                raise Refusal("pairing required: device is not approved yet", "NOT_PAIRED", {
                    "code": "PAIRING_REQUIRED", "reason": "not-paired", "requestId": request_id,
                    "remediationHint": "Approve this device from the pending pairing requests.",
                    "deviceId": device["id"], "requestedRole": params.get("role"), "requestedScopes": scopes})
        record.outcome = "hello"
        record.protocol = self.protocol
        granted = scopes if self.granted_scopes is None else list(self.granted_scopes)
        return self._hello(record, granted)

    def _verify_device(self, params: dict[str, Any], device: dict[str, Any], nonce: str) -> None:
        def refuse(message: str, code: str, reason: str) -> Refusal:
            return Refusal(message, details={"code": code, "reason": reason})

        try:
            public = b64url_decode(str(device.get("publicKey", "")))
            key = Ed25519PublicKey.from_public_bytes(public)
        except ValueError as error:
            raise refuse("device identity mismatch", "DEVICE_AUTH_DEVICE_ID_MISMATCH", "device-id-mismatch") from error
        if hashlib.sha256(public).hexdigest() != device.get("id"):
            raise refuse("device identity mismatch", "DEVICE_AUTH_DEVICE_ID_MISMATCH", "device-id-mismatch")
        signed_at = device.get("signedAt")
        now = int(time.time() * 1000) + self.clock_skew_ms
        if not isinstance(signed_at, int) or abs(now - signed_at) > 120_000:
            raise refuse("device signature expired", "DEVICE_AUTH_SIGNATURE_EXPIRED", "device-signature-stale")
        if device.get("nonce") != nonce:
            raise refuse("device nonce mismatch", "DEVICE_AUTH_NONCE_MISMATCH", "device-nonce-mismatch")
        try:
            signature = b64url_decode(str(device.get("signature", "")))
        except ValueError:
            signature = b""
        for line in signed_lines(params, signed_at, nonce):
            try:
                key.verify(signature, line.encode())
                return
            except InvalidSignature:
                continue
        raise refuse("device signature invalid", "DEVICE_AUTH_SIGNATURE_INVALID", "device-signature")

    def _hello(self, record: ConnectionRecord, scopes: list[str]) -> dict[str, Any]:
        methods = self.advertised_methods if self.advertised_methods is not None else sorted(METHOD_SCOPES)
        server: dict[str, Any] = {"version": self.version, "connId": str(uuid.uuid4())}
        auth: dict[str, Any] = {"role": "operator", "scopes": scopes}
        features: dict[str, Any] = {"methods": methods, "events": list(EVENTS)}
        if self.newer:
            server.update(buildId=f"{self.version}-fake", bootId=self._boot_id)
            auth["method"] = "token"
            features["capabilities"] = []
        return {
            "type": "hello-ok", "protocol": self.protocol, "server": server, "features": features,
            "snapshot": {"presence": [], "health": self._health(), "stateVersion": {"presence": 1, "health": 1},
                         "uptimeMs": 1000, "configPath": self._config_path, "stateDir": self._home,
                         "authMode": "token"},
            "auth": auth,
            "policy": {"maxPayload": 26214400, "maxBufferedBytes": 52428800,
                       "tickIntervalMs": int((self.tick_interval or 30) * 1000)},
        }

    # --- requests ------------------------------------------------------------------------

    def _serve_requests(self, record: ConnectionRecord, ws: ServerConnection) -> None:
        patches_here = 0
        while True:
            try:
                text = ws.recv()
            except ConnectionClosed:
                return
            try:
                frame = json.loads(text)
            except ValueError:
                continue
            if not isinstance(frame, dict) or frame.get("type") != "req":
                continue
            request_id, method = frame.get("id"), str(frame.get("method"))
            params = frame.get("params")
            with self._lock:
                self.calls.append(CallRecord(record.index, str(request_id), method, params))
                faults = self.faults
                drop = faults.drop_on.get(method, 0) > 0
                if drop:
                    faults.drop_on[method] -= 1
                restart = faults.restart_on.get(method, 0) > 0
                if restart:
                    faults.restart_on[method] -= 1
            if drop:
                # Cut the TCP connection: no answer, no close frame, as when a process dies.
                ws.socket.shutdown(socket.SHUT_RDWR)
                return
            delay = self.faults.slow.get(method)
            if delay and self._stopping.wait(delay):
                return
            for number in range(self.faults.events_before_answer.get(method, 0)):
                self._send_event(record.index, ws, "agent", {"stream": "lifecycle", "n": number})
            if method == "config.patch":
                patches_here += 1
            try:
                if method == "config.patch" and self.faults.patch_limit is not None \
                        and patches_here > self.faults.patch_limit:
                    raise Refusal("rate limit exceeded for config.patch; retry after 60s", "UNAVAILABLE",
                                  {"method": "config.patch", "limit": f"{self.faults.patch_limit} per 60s"},
                                  retryable=True, retryAfterMs=60000)
                answer: dict[str, Any] = {"type": "res", "id": request_id, "ok": True,
                                          "payload": self._call(method, params, record)}
            except Refusal as refusal:
                answer = {"type": "res", "id": request_id, "ok": False, "error": refusal.error}
            if restart and not self.faults.restart_answers_first:
                self.restart()
                return
            try:
                ws.send(json.dumps(answer))
            except ConnectionClosed:
                return
            if restart:
                self.restart()
                return

    def _call(self, method: str, params: Any, record: ConnectionRecord) -> Any:
        if method == "connect":
            raise Refusal("connect is only valid as the first request")
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None or method not in METHOD_SCOPES:
            raise Refusal(f"unknown method: {method}")
        self._check_scope(method, record)
        checked = self._check_params(method, params)
        with self._lock:
            agent_id = checked.get("agentId")
            if isinstance(agent_id, str) and self._not_found.get(agent_id, 0) > 0:
                self._not_found[agent_id] -= 1
                raise Refusal(self._no_agent_message(method, agent_id))
            return handler(checked)

    def _check_scope(self, method: str, record: ConnectionRecord) -> None:
        needed = METHOD_SCOPES[method]
        if needed is None:
            return
        scopes = self.granted_scopes if self.granted_scopes is not None else (record.params or {}).get("scopes", [])
        covering = {READ: {READ, WRITE, ADMIN}, WRITE: {WRITE, ADMIN}, ADMIN: {ADMIN}}[needed]
        if covering & set(scopes):
            return
        if self.newer:
            raise Refusal(f"missing scope: {needed}", "FORBIDDEN",
                          {"code": "MISSING_SCOPE", "missingScope": needed, "requiredScopes": [needed]})
        raise Refusal(f"missing scope: {needed}")

    def _schema(self, method: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        newer = self.newer
        table: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
            "health": ((), ("probe",)),
            "status": ((), ()),
            "config.get": ((), ()),
            "config.patch": (("raw",), ("baseHash", "sessionKey", "deliveryContext", "note", "restartDelayMs")
                             + (("replacePaths",) if newer else ())),
            "agents.list": ((), ()),
            "agents.create": (("name",) if newer else ("name", "workspace"),
                              ("workspace", "model", "emoji", "avatar")),
            "agents.update": (("agentId",), ("name", "workspace", "model", "emoji", "avatar")
                              + (("agentRuntime",) if newer else ())),
            "agents.delete": (("agentId",), ("deleteFiles",)),
            "agents.files.list": (("agentId",), ()),
            "agents.files.get": (("agentId", "name"), ()),
            "agents.files.set": (("agentId", "name", "content"), ("expectedHash",) if newer else ()),
            "chat.send": (("sessionKey", "message", "idempotencyKey"),
                          ("thinking", "deliver", "attachments", "timeoutMs") + (("agentId",) if newer else ())),
            "chat.history": (("sessionKey",), ("limit", "maxChars")),
            "sessions.list": ((), ("limit", "activeMinutes", "includeGlobal", "includeUnknown", "label",
                                   "agentId", "search")),
            "sessions.delete": (("key",), ("deleteTranscript", "emitLifecycleHooks")),
        }
        return table[method]

    def _check_params(self, method: str, params: Any) -> dict[str, Any]:
        params = {} if params is None else params
        if not isinstance(params, dict):
            raise Refusal(f"invalid {method} params: must be object")
        required, optional = self._schema(method)
        extra = [key for key in params if key not in required and key not in optional]
        if extra:
            raise Refusal(f"invalid {method} params: at root: unexpected property '{extra[0]}'")
        missing = [key for key in required if key not in params]
        if missing:
            shown = missing[:1] if self.newer else missing
            raise Refusal(f"invalid {method} params: "
                          + "; ".join(f"must have required property '{key}'" for key in shown))
        return params

    # --- state ---------------------------------------------------------------------------

    @property
    def _config_path(self) -> str:
        return os.path.join(self._home, ".openclaw", "openclaw.json")

    def _initial_config(self) -> dict[str, Any]:
        workspace = os.path.join(self._home, ".openclaw", "workspace-dev")
        dev = {"workspace": workspace, "identity": {"name": "C3-PO", "theme": "protocol droid"}}
        agents: dict[str, Any] = {"defaults": {"workspace": workspace, "skipBootstrap": True}}
        if self.config_shape == "entries":
            agents["entries"] = {"dev": {"default": True, **dev}}
        else:
            agents["list"] = [{"id": "dev", "default": True, **dev}]
        return {"agents": agents, "gateway": {"mode": "local", "bind": "loopback"},
                "meta": {"lastTouchedVersion": self.version}}

    def _agents(self) -> dict[str, dict[str, Any]]:
        section = self.config.get("agents") or {}
        if self.config_shape == "entries":
            return {key: dict(value) for key, value in (section.get("entries") or {}).items()}
        return {item["id"]: dict(item) for item in section.get("list") or [] if isinstance(item, dict)}

    def _put_agent(self, agent_id: str, entry: dict[str, Any]) -> None:
        section = self.config.setdefault("agents", {})
        if self.config_shape == "entries":
            section.setdefault("entries", {})[agent_id] = entry
            return
        roster = section.setdefault("list", [])
        for index, item in enumerate(roster):
            if item.get("id") == agent_id:
                roster[index] = {"id": agent_id, **entry}
                return
        roster.append({"id": agent_id, **entry})

    def _remove_agent(self, agent_id: str) -> None:
        section = self.config.get("agents") or {}
        if self.config_shape == "entries":
            (section.get("entries") or {}).pop(agent_id, None)
        else:
            section["list"] = [item for item in section.get("list") or [] if item.get("id") != agent_id]

    def _no_agent_message(self, method: str, agent_id: str) -> str:
        if method == "chat.send":
            return f'Agent "{agent_id}" no longer exists in configuration'
        if method.startswith("agents.files.") and not self.newer:
            return "unknown agent id"
        return f'agent "{agent_id}" not found'

    def _agent(self, method: str, agent_id: str) -> dict[str, Any]:
        agent = self._agents().get(agent_id)
        if agent is None:
            raise Refusal(self._no_agent_message(method, agent_id))
        return agent

    def _health(self) -> dict[str, Any]:
        agents = self._agents()
        return {"ok": True, "ts": int(time.time() * 1000), "durationMs": 1,
                "defaultAgentId": next(iter(agents), None),
                "agents": [{"agentId": key, "isDefault": index == 0,
                            "heartbeat": {"enabled": True, "every": "30m", "everyMs": 1800000}}
                           for index, key in enumerate(agents)]}

    # --- methods -------------------------------------------------------------------------

    def _m_health(self, params: dict[str, Any]) -> Any:
        return self._health()

    def _m_status(self, params: dict[str, Any]) -> Any:
        return {"runtimeVersion": self.version, "heartbeat": {"agents": []}, "sessions": {"count": len(self._sessions)}}

    def _m_agents_list(self, params: dict[str, Any]) -> Any:
        agents = self._agents()
        return {"defaultId": next(iter(agents), None), "mainKey": "main", "scope": "per-sender",
                "agents": [{"id": key, "name": value.get("name"), "identity": value.get("identity", {}),
                            "workspace": value.get("workspace")} for key, value in agents.items()]}

    def _m_agents_create(self, params: dict[str, Any]) -> Any:
        name = str(params["name"])
        agent_id = SLUG.sub("-", name.strip().lower()).strip("-") or "agent"
        if self.faults.create_exists or agent_id in self._agents():
            raise Refusal(f'agent "{agent_id}" already exists')
        default_root = (self.config["agents"].get("defaults") or {}).get("workspace", self._home)
        workspace = params.get("workspace") or os.path.join(default_root, agent_id)
        entry: dict[str, Any] = {"name": name, "workspace": workspace, "identity": {"name": name}}
        if params.get("emoji"):
            entry["identity"]["emoji"] = params["emoji"]
        if params.get("model"):
            entry["model"] = params["model"]
        self._put_agent(agent_id, entry)
        if self.faults.not_found_window:
            self._not_found[agent_id] = self.faults.not_found_window
        return {"ok": True, "agentId": agent_id, "name": name, "workspace": workspace}

    def _m_agents_update(self, params: dict[str, Any]) -> Any:
        agent_id = params["agentId"]
        entry = self._agent("agents.update", agent_id)
        entry.pop("id", None)
        for key in ("name", "workspace", "model"):
            if key in params:
                entry[key] = params[key]
        if "name" in params:
            entry.setdefault("identity", {})["name"] = params["name"]
        if "emoji" in params:
            entry.setdefault("identity", {})["emoji"] = params["emoji"]
        self._put_agent(agent_id, entry)
        return {"ok": True, "agentId": agent_id}

    def _m_agents_delete(self, params: dict[str, Any]) -> Any:
        agent_id = params["agentId"]
        self._agent("agents.delete", agent_id)
        self._remove_agent(agent_id)
        for key in [key for key in self._files if key[0] == agent_id]:
            del self._files[key]
        return {"ok": True, "agentId": agent_id, "removedBindings": 0}

    def _file_name(self, name: Any) -> str:
        if name not in self.files_allowed:
            raise Refusal(f'unsupported file "{name}"')
        return str(name)

    def _file(self, agent_id: str, name: str, workspace: str, *, content: bool) -> dict[str, Any]:
        stored = self._files.get((agent_id, name))
        found: dict[str, Any] = {"name": name, "path": os.path.join(workspace, name), "missing": stored is None}
        if stored is not None:
            found.update(size=len(stored["content"].encode()), updatedAtMs=stored["updatedAtMs"])
            if content:
                found["content"] = stored["content"]
                if self.newer:
                    found["hash"] = hashlib.sha256(stored["content"].encode()).hexdigest()
        return found

    def _m_agents_files_list(self, params: dict[str, Any]) -> Any:
        agent_id = params["agentId"]
        workspace = self._agent("agents.files.list", agent_id)["workspace"]
        # 9.6 leaves IDENTITY.md out of the list, though get and set take it.
        listed = [name for name in self.files_allowed if not (self.newer and name == "IDENTITY.md")]
        return {"agentId": agent_id, "workspace": workspace,
                "files": [self._file(agent_id, name, workspace, content=False) for name in listed]}

    def _m_agents_files_get(self, params: dict[str, Any]) -> Any:
        agent_id = params["agentId"]
        workspace = self._agent("agents.files.get", agent_id)["workspace"]
        name = self._file_name(params["name"])
        return {"agentId": agent_id, "workspace": workspace, "file": self._file(agent_id, name, workspace, content=True)}

    def _m_agents_files_set(self, params: dict[str, Any]) -> Any:
        agent_id = params["agentId"]
        workspace = self._agent("agents.files.set", agent_id)["workspace"]
        name = self._file_name(params["name"])
        stored = self._files.get((agent_id, name))
        current = hashlib.sha256(stored["content"].encode()).hexdigest() if stored else None
        if "expectedHash" in params and params["expectedHash"] != current:
            raise Refusal(f'agent file "{name}" changed since it was read',
                          details={"type": "agent_file_conflict", "name": name, "currentHash": current})
        self._files[(agent_id, name)] = {"content": str(params["content"]), "updatedAtMs": int(time.time() * 1000)}
        return {"ok": True, "agentId": agent_id, "workspace": workspace,
                "file": self._file(agent_id, name, workspace, content=True)}

    def _m_config_get(self, params: dict[str, Any]) -> Any:
        text = json.dumps(self.config, indent=2)
        answer: dict[str, Any] = {
            "path": self._config_path, "exists": True, "raw": text if self.newer else None,
            "parsed": copy.deepcopy(self.config), "sourceConfig": copy.deepcopy(self.config),
            "config": copy.deepcopy(self.config), "hash": self.config_hash, "valid": True,
            "issues": [], "warnings": [], "legacyIssues": [],
        }
        return answer

    def _m_config_patch(self, params: dict[str, Any]) -> Any:
        self.patches += 1
        raw = params["raw"]
        if not isinstance(raw, str) or not raw:
            raise Refusal("invalid config.patch params: at /raw: must not have fewer than 1 characters")
        try:
            patch = json.loads(raw)
        except json.JSONDecodeError as error:
            raise Refusal(f"SyntaxError: JSON5: invalid character at {error.lineno}:{error.colno}") from error
        if not isinstance(patch, dict):
            raise Refusal("config.patch raw must be an object")
        base = params.get("baseHash")
        if base is not None and base != self.config_hash:
            raise Refusal("config changed since last load; re-run config.get and retry")
        updated = merge_patch(self.config, patch)
        paths = changed_paths(self.config, updated)
        if base is None and (paths or not self.newer):
            # 4.29 wants a hash even for a no-op; 9.6 only for a real change.
            if self.newer:
                raise Refusal(f"config base hash required for {paths[0]}; re-run config.get and retry with baseHash")
            raise Refusal("config base hash required; re-run config.get and retry")
        if not paths:
            answer: dict[str, Any] = {"ok": True, "noop": True, "path": self._config_path,
                                      "config": copy.deepcopy(self.config)}
            if self.newer:
                answer["changedPaths"] = []
            return answer
        self.config = updated
        sentinel = {"kind": "config-patch", "status": "ok", "ts": int(time.time() * 1000),
                    "message": params.get("note"), "stats": {"mode": "config.patch", "root": self._config_path}}
        if self.newer:
            self.emit("config.changed", {"path": self._config_path, "hash": self.config_hash,
                                         "ts": int(time.time() * 1000)})
            return {"ok": True, "path": self._config_path, "hash": self.config_hash,
                    "config": copy.deepcopy(self.config), "changedPaths": paths,
                    "sentinel": {"persisted": True, "payload": sentinel}}
        return {"ok": True, "path": self._config_path, "config": copy.deepcopy(self.config),
                "sentinel": {"path": os.path.join(self._home, "restart-sentinel.json"), "payload": sentinel}}

    def _m_chat_send(self, params: dict[str, Any]) -> Any:
        key = str(params["idempotencyKey"])
        session_key = str(params["sessionKey"])
        if key in self._runs:
            return {"runId": key, "status": "in_flight"}
        self._runs[key] = session_key
        self._sessions.setdefault(session_key, []).append(
            {"role": "user", "content": params["message"], "timestamp": int(time.time() * 1000),
             "idempotencyKey": f"{key}:user"})
        return {"runId": key, "status": "started"}

    def _m_chat_history(self, params: dict[str, Any]) -> Any:
        session_key = str(params["sessionKey"])
        messages = self._sessions.get(session_key, [])
        limit = params.get("limit")
        if isinstance(limit, int):
            messages = messages[-limit:]
        return {"sessionKey": session_key, "sessionId": hashlib.sha1(session_key.encode()).hexdigest()[:12],
                "messages": copy.deepcopy(messages)}

    def _m_sessions_list(self, params: dict[str, Any]) -> Any:
        rows = [{"key": key, "agentId": key.split(":")[1] if key.count(":") >= 2 else None,
                 "kind": "direct", "isMain": key.endswith(":main"), "updatedAt": messages[-1]["timestamp"]}
                for key, messages in self._sessions.items() if messages]
        limit = params.get("limit")
        if isinstance(limit, int):
            rows = rows[:limit]
        return {"ts": int(time.time() * 1000), "path": self._home, "count": len(rows), "sessions": rows}

    def _m_sessions_delete(self, params: dict[str, Any]) -> Any:
        key = str(params["key"])
        if self.newer and key.endswith(":main"):
            raise Refusal(f"Cannot delete the main session ({key}).")
        deleted = self._sessions.pop(key, None) is not None
        return {"ok": True, "key": key, "deleted": deleted, "archived": []}
