"""Starts the real `switchyard` binary (and, where needed, the fake upstream binary) for the
end-to-end tests. Nothing here reaches the internet: providers are the in-process `mock` and a
fake OpenAI-compatible upstream on 127.0.0.1."""

import os
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

BIN = os.environ.get("SWITCHYARD_BIN", "target/debug/switchyard")
FAKE_BIN = os.environ.get("FAKE_UPSTREAM_BIN", "target/debug/switchyard-fake-upstream")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} not ready after {timeout}s")


class Gateway:
    def __init__(self, config_yaml: str, cpu: int | None = None, log: str | None = None):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="switchyard-e2e-")
        self.config = os.path.join(self.dir, "switchyard.yaml")
        with open(self.config, "w") as f:
            f.write(f"listen: 127.0.0.1:{self.port}\n")
            f.write(f"database: sqlite://{self.dir}/switchyard.db\n")
            f.write(config_yaml)
        self.log = open(os.path.join(self.dir, "gateway.log"), "w+")
        # `cpu`: run pinned to that one CPU (taskset), as on a one-core container.
        pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
        # `log`: the SWITCHYARD_LOG filter (default: the binary's own, `info`).
        env = dict(os.environ)
        if log is not None:
            env["SWITCHYARD_LOG"] = log
        self.proc = subprocess.Popen(
            pin + [BIN, "serve", "--config", self.config],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=self.dir,
            env=env,
        )
        wait_ready(f"http://127.0.0.1:{self.port}/health/ready", self.proc)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def logs(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def fake_upstream():
    port = free_port()
    proc = subprocess.Popen([FAKE_BIN, f"127.0.0.1:{port}", "5"], stderr=subprocess.DEVNULL)
    # The fake answers any path; a POST is needed, so poll the port instead.
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


MASTER_KEY = "sk-e2e-master"


@pytest.fixture(scope="session")
def gateway(fake_upstream):
    g = Gateway(
        f"""
master_key: {MASTER_KEY}
providers:
  mock:
    kind: mock
  fake:
    kind: openai_compatible
    base_url: {fake_upstream}/v1
    api_key: sk-fake-provider-key
  limited:
    kind: mock
    mock: {{ failure_rate: 1.0, failure_status: 429 }}
  broken:
    kind: mock
    mock: {{ failure_rate: 1.0, failure_status: 500 }}
models:
  mock:
    targets: [{{ provider: mock, model: mock-1 }}]
  fast:
    targets: [{{ provider: fake, model: bench-model }}]
    pricing: {{ input: 1.0, output: 2.0 }}
  embed:
    targets: [{{ provider: mock, model: mock-embed }}]
  limited:
    targets: [{{ provider: limited, model: m }}]
  broken:
    targets: [{{ provider: broken, model: m }}]
"""
    )
    yield g
    g.stop()
    assert "sk-fake-provider-key" not in g.logs(), "provider key leaked into the logs"


# ---- one fake upstream per provider kind, and a gateway in front of all of them ----

PROVIDER_KEY = "sk-fake-provider-key"
FAKE_KINDS = ["openai", "anthropic", "gemini", "bedrock", "cohere", "mistral", "azure_openai", "vertex"]


def start_fake(kind: str):
    """Starts `switchyard-fake-upstream --provider KIND` on a free port; returns (proc, base)."""
    port = free_port()
    proc = subprocess.Popen(
        [FAKE_BIN, f"127.0.0.1:{port}", "5", "--provider", kind, "--api-key", PROVIDER_KEY],
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 20
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"fake {kind} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def provider_fakes():
    """Base URL of a fake of each provider kind (the fake-upstream binary's `--provider`)."""
    procs, bases = [], {}
    try:
        for kind in FAKE_KINDS:
            proc, base = start_fake(kind)
            procs.append(proc)
            bases[kind] = base
        yield bases
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)


@pytest.fixture(scope="session")
def providers_gateway(provider_fakes):
    """The real gateway with one provider of every kind, each backed by its fake; the public
    model names are the provider kinds (`vertex-gemini`, `vertex-claude` for Vertex)."""
    f = provider_fakes
    k = PROVIDER_KEY
    # Every crate at debug level, so the check at the end that no provider secret reached the
    # logs covers more than the default `info` lines.
    g = Gateway(
        log="debug",
        config_yaml=f"""
master_key: {MASTER_KEY}
providers:
  openai: {{ kind: openai, api_key: {k}, base_url: "{f['openai']}/v1" }}
  azure: {{ kind: azure_openai, api_key: {k}, base_url: "{f['azure_openai']}", api_version: "2024-10-21" }}
  compat: {{ kind: openai_compatible, api_key: {k}, base_url: "{f['openai']}/v1" }}
  anthropic: {{ kind: anthropic, api_key: {k}, base_url: "{f['anthropic']}" }}
  gemini: {{ kind: gemini, api_key: {k}, base_url: "{f['gemini']}" }}
  gemini-badkey: {{ kind: gemini, api_key: not-the-key, base_url: "{f['gemini']}" }}
  vertex: {{ kind: vertex, project: fake-project, location: us-central1, access_token: {k}, base_url: "{f['vertex']}" }}
  bedrock: {{ kind: bedrock, region: us-east-1, access_key_id: AKIAFAKEUPSTREAM01, secret_access_key: fake-upstream-secret, base_url: "{f['bedrock']}" }}
  cohere: {{ kind: cohere, api_key: {k}, base_url: "{f['cohere']}" }}
  mistral: {{ kind: mistral, api_key: {k}, base_url: "{f['mistral']}/v1" }}
  mock: {{ kind: mock }}
  limited: {{ kind: mock, mock: {{ failure_rate: 1.0, failure_status: 429 }} }}
models:
  openai: {{ targets: [{{ provider: openai, model: gpt-4o }}] }}
  azure_openai: {{ targets: [{{ provider: azure, model: gpt-4o }}] }}
  openai_compatible: {{ targets: [{{ provider: compat, model: llama-3.1-8b-instruct }}], pricing: {{ input: 0.1, output: 0.1 }} }}
  anthropic: {{ targets: [{{ provider: anthropic, model: claude-sonnet-4-5 }}] }}
  gemini: {{ targets: [{{ provider: gemini, model: gemini-2.5-flash }}] }}
  gemini-badkey: {{ targets: [{{ provider: gemini-badkey, model: gemini-2.5-flash }}] }}
  vertex-gemini: {{ targets: [{{ provider: vertex, model: gemini-2.5-flash }}] }}
  vertex-claude: {{ targets: [{{ provider: vertex, model: "claude-sonnet-4-5@20250929" }}] }}
  bedrock: {{ targets: [{{ provider: bedrock, model: "anthropic.claude-3-5-sonnet-20240620-v1:0" }}] }}
  cohere: {{ targets: [{{ provider: cohere, model: command-a-03-2025 }}] }}
  mistral: {{ targets: [{{ provider: mistral, model: mistral-large-latest }}], pricing: {{ input: 2.0, output: 6.0 }} }}
  mock: {{ targets: [{{ provider: mock, model: mock-1 }}] }}
  limited: {{ targets: [{{ provider: limited, model: m }}] }}
"""
    )
    yield g
    g.stop()
    logs = g.logs()
    assert " DEBUG " in logs, "the gateway did not log at debug level"
    assert PROVIDER_KEY not in logs, "provider key leaked into the logs"
    assert "fake-upstream-secret" not in logs, "AWS secret leaked into the logs"
