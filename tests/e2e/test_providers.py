"""The official `openai` SDK against every provider kind (each backed by its fake upstream,
which checks paths, credentials and bodies like the real service), and the official
`anthropic` SDK against /v1/messages backed by an OpenAI-compatible provider and by Gemini."""

import json

import anthropic
import openai
import pytest
from conftest import MASTER_KEY

# Public model name -> what its upstream answers to "hello from e2e".
ECHOING = [
    "anthropic",
    "gemini",
    "vertex-gemini",
    "vertex-claude",
    "bedrock",
    "cohere",
    "mistral",
    "azure_openai",
]
FIXED = {
    # The benchmark upstream behind `openai` and `openai_compatible` answers a fixed text.
    "openai": "Hello! How can I help you today?",
    "openai_compatible": "Hello! How can I help you today?",
    "mock": "Mock response to: hello from e2e",
}
ALL_MODELS = ECHOING + list(FIXED)
TOOL_MODELS = ECHOING + ["openai", "openai_compatible"]

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def expected_text(model: str) -> str:
    return FIXED.get(model, "You said: hello from e2e")


@pytest.fixture()
def oai(providers_gateway):
    return openai.OpenAI(base_url=providers_gateway.base + "/v1", api_key=MASTER_KEY, max_retries=0)


@pytest.fixture()
def ant(providers_gateway):
    return anthropic.Anthropic(base_url=providers_gateway.base, api_key=MASTER_KEY, max_retries=0)


# ---- openai SDK, every provider kind ----


@pytest.mark.parametrize("model", ALL_MODELS)
def test_openai_chat(oai, model):
    raw = oai.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": "hello from e2e"}]
    )
    r = raw.parse()
    assert r.choices[0].message.content == expected_text(model)
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    assert raw.headers["x-switchyard-model"]


@pytest.mark.parametrize("model", ALL_MODELS)
def test_openai_stream(oai, model):
    stream = oai.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "hello from e2e"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    if model in ("openai", "openai_compatible"):
        assert text == "tok0 tok1 tok2 tok3 tok4 "
    else:
        assert text == expected_text(model)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0


@pytest.mark.parametrize("model", TOOL_MODELS)
def test_openai_tools_round_trip(oai, model):
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    r = oai.chat.completions.create(model=model, messages=messages, tools=[WEATHER])
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert call.id
    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "18 C and sunny"})
    r = oai.chat.completions.create(model=model, messages=messages, tools=[WEATHER])
    assert r.choices[0].finish_reason == "stop"
    assert r.choices[0].message.content == "Done: the tool answered."


@pytest.mark.parametrize("model", TOOL_MODELS)
def test_openai_stream_tool_call(oai, model):
    stream = oai.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[WEATHER],
        stream=True,
    )
    calls = {}
    finish = None
    for c in stream:
        if not c.choices:
            continue
        for tc in c.choices[0].delta.tool_calls or []:
            entry = calls.setdefault(tc.index, {"id": None, "name": None, "args": ""})
            if tc.id:
                assert entry["id"] is None, "only the first fragment has the id"
                entry["id"] = tc.id
            if tc.function and tc.function.name:
                entry["name"] = tc.function.name
            if tc.function and tc.function.arguments:
                entry["args"] += tc.function.arguments
        finish = c.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert list(calls) == [0]
    assert calls[0]["id"] and calls[0]["name"] == "get_weather"
    assert json.loads(calls[0]["args"]) == {"city": "Paris"}


def test_openai_upstream_auth_failure_is_not_the_clients(oai):
    with pytest.raises(openai.InternalServerError) as e:
        oai.chat.completions.create(model="gemini-badkey", messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 502
    assert e.value.body["type"] == "server_error"
    assert "rejected the gateway's credentials" in e.value.body["message"]


# ---- anthropic SDK against /v1/messages, backed by OpenAI-compatible and Gemini ----

ANTHROPIC_BACKENDS = {
    "openai_compatible": "Hello! How can I help you today?",
    "gemini": "You said: hello from e2e",
}
ANT_TOOL = {
    "name": "get_weather",
    "description": "Get the current weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.mark.parametrize("model", list(ANTHROPIC_BACKENDS))
def test_anthropic_messages_create(ant, model):
    m = ant.messages.create(
        model=model,
        max_tokens=256,
        system="Be brief.",
        messages=[{"role": "user", "content": "hello from e2e"}],
    )
    assert m.type == "message" and m.role == "assistant"
    assert m.content[0].type == "text"
    assert m.content[0].text == ANTHROPIC_BACKENDS[model]
    assert m.stop_reason == "end_turn"
    assert m.usage.input_tokens > 0 and m.usage.output_tokens > 0


@pytest.mark.parametrize("model", list(ANTHROPIC_BACKENDS))
def test_anthropic_messages_stream_text(ant, model):
    with ant.messages.stream(
        model=model, max_tokens=256, messages=[{"role": "user", "content": "hello from e2e"}]
    ) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    if model == "openai_compatible":
        assert text == "tok0 tok1 tok2 tok3 tok4 "
    else:
        assert text == ANTHROPIC_BACKENDS[model]
    assert final.stop_reason == "end_turn"
    assert final.content[0].text == text
    assert final.usage.output_tokens > 0


@pytest.mark.parametrize("model", list(ANTHROPIC_BACKENDS))
def test_anthropic_tool_use_round_trip(ant, model):
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    m = ant.messages.create(model=model, max_tokens=256, tools=[ANT_TOOL], messages=messages)
    assert m.stop_reason == "tool_use"
    uses = [b for b in m.content if b.type == "tool_use"]
    assert len(uses) == 1
    assert uses[0].name == "get_weather" and uses[0].input == {"city": "Paris"}
    assert uses[0].id
    messages.append({"role": "assistant", "content": [b.model_dump() for b in m.content]})
    messages.append(
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": uses[0].id, "content": "18 C and sunny"}],
        }
    )
    m = ant.messages.create(model=model, max_tokens=256, tools=[ANT_TOOL], messages=messages)
    assert m.stop_reason == "end_turn"
    assert m.content[0].text == "Done: the tool answered."


@pytest.mark.parametrize("model", list(ANTHROPIC_BACKENDS))
def test_anthropic_stream_tool_use(ant, model):
    with ant.messages.stream(
        model=model,
        max_tokens=256,
        tools=[ANT_TOOL],
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
    ) as s:
        events = [e.type for e in s]
        final = s.get_final_message()
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert final.stop_reason == "tool_use"
    uses = [b for b in final.content if b.type == "tool_use"]
    assert len(uses) == 1 and uses[0].name == "get_weather"
    assert uses[0].input == {"city": "Paris"}


def test_anthropic_rate_limit_error_shape(ant):
    with pytest.raises(anthropic.RateLimitError) as e:
        ant.messages.create(model="limited", max_tokens=16, messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == 429
    assert e.value.body["type"] == "error"
    assert e.value.body["error"]["type"] == "rate_limit_error"


def test_anthropic_unknown_model_error_shape(ant):
    with pytest.raises(anthropic.NotFoundError) as e:
        ant.messages.create(model="nope", max_tokens=16, messages=[{"role": "user", "content": "x"}])
    assert e.value.body["error"]["type"] == "not_found_error"
