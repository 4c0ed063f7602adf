"""The official `openai` Python SDK against the real binary."""

import shutil

import openai
import pytest
from conftest import MASTER_KEY, Gateway


@pytest.fixture()
def client(gateway):
    return openai.OpenAI(base_url=gateway.base + "/v1", api_key=MASTER_KEY, max_retries=0)


def test_chat(client):
    r = client.chat.completions.create(
        model="mock", messages=[{"role": "user", "content": "hello gateway"}]
    )
    assert r.choices[0].message.content == "Mock response to: hello gateway"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens == 2
    assert r.usage.completion_tokens == 5


def test_chat_raw_headers(client):
    raw = client.chat.completions.with_raw_response.create(
        model="mock", messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.headers["x-switchyard-provider"] == "mock"
    assert raw.headers["x-switchyard-model"] == "mock-1"
    assert raw.headers["x-request-id"]


def test_stream_without_usage(client):
    stream = client.chat.completions.create(
        model="mock", messages=[{"role": "user", "content": "stream me"}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Mock response to: stream me"
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_stream_with_usage(client):
    stream = client.chat.completions.create(
        model="mock",
        messages=[{"role": "user", "content": "stream me"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens == 5
    assert chunks[-1].usage.prompt_tokens == 2


def test_stream_through_a_real_http_upstream(client):
    stream = client.chat.completions.create(
        model="fast", messages=[{"role": "user", "content": "x"}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "tok0 tok1 tok2 tok3 tok4 "
    r = client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "x"}])
    assert r.choices[0].message.content == "Hello! How can I help you today?"


@pytest.mark.skipif(shutil.which("taskset") is None, reason="taskset (util-linux) not installed")
def test_one_cpu_runs_the_single_threaded_runtime(fake_upstream):
    """Pinned to one CPU the gateway runs tokio's current-thread runtime: JSON, streams with
    and without usage, and a clean shutdown all work there too."""
    g = Gateway(
        f"""
providers:
  fake:
    kind: openai_compatible
    base_url: {fake_upstream}/v1
models:
  fast:
    targets: [{{ provider: fake, model: bench-model }}]
    pricing: {{ input: 1.0, output: 2.0 }}
""",
        cpu=0,
    )
    try:
        c = openai.OpenAI(base_url=g.base + "/v1", api_key="unused", max_retries=0)
        for _ in range(3):
            r = c.chat.completions.create(model="fast", messages=[{"role": "user", "content": "x"}])
            assert r.choices[0].message.content == "Hello! How can I help you today?"
        chunks = list(
            c.chat.completions.create(
                model="fast", messages=[{"role": "user", "content": "x"}], stream=True
            )
        )
        assert "".join(x.choices[0].delta.content or "" for x in chunks if x.choices) == (
            "tok0 tok1 tok2 tok3 tok4 "
        )
        assert all(x.usage is None for x in chunks)
        chunks = list(
            c.chat.completions.create(
                model="fast",
                messages=[{"role": "user", "content": "x"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    finally:
        g.stop()
    assert g.proc.returncode == 0, g.logs()
    assert "runtime=single-threaded" in g.logs(), g.logs()


def test_embeddings(client):
    r = client.embeddings.create(model="embed", input=["one", "two"])
    assert len(r.data) == 2
    assert len(r.data[0].embedding) == 8
    # The SDK asks for base64 by default and decodes it; the vectors must be unit length.
    norm = sum(x * x for x in r.data[0].embedding)
    assert abs(norm - 1.0) < 1e-3


def test_models_list(client):
    ids = sorted(m.id for m in client.models.list())
    assert ids == ["broken", "embed", "fast", "limited", "mock"]


def test_bad_request_400(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="mock", messages="not a list")  # type: ignore[arg-type]
    assert e.value.status_code == 400


def test_missing_messages_400(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.post("/chat/completions", body={"model": "mock"}, cast_to=object)
    assert "messages" in str(e.value)


def test_unknown_model_404(client):
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    assert e.value.code == "model_not_found"


def test_rate_limited_429(client):
    with pytest.raises(openai.RateLimitError) as e:
        client.chat.completions.create(model="limited", messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 429


def test_server_error_500(client):
    with pytest.raises(openai.InternalServerError) as e:
        client.chat.completions.create(model="broken", messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 500


def test_wrong_key_401(gateway):
    c = openai.OpenAI(base_url=gateway.base + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        c.chat.completions.create(model="mock", messages=[{"role": "user", "content": "x"}])
