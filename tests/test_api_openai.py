"""The OpenAI-compatible chat route over a real uvicorn server, driven by the real ``openai``
SDK and LangChain's ``ChatOpenAI``: what an OpenAI-style tool sees is what these tests see."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from assistant.models import Citation, ToolCall
from tests.conftest import ADMIN_KEY, SUPPORT_KEY

CJK = re.compile(r"[\u4e00-\u9fff]")
QUOTE_START = "想算一下信用保险保费，我们做电子元器件的，账期一般60天"
QUOTE_TURNOVER = "年销售额五千万"


@pytest.fixture(scope="module")
def client(api_server: Any) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{api_server.url}/v1", api_key=SUPPORT_KEY, max_retries=0, timeout=120
    )


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def assistant_msg(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def citations_of(obj: Any) -> list[Citation]:
    return [Citation.model_validate(c) for c in obj.model_extra["citations"]]


def server_tools(obj: Any) -> list[ToolCall]:
    return [ToolCall.model_validate(c) for c in obj.model_extra["credit_advisor"]["tool_calls"]]


def premium_call(completion: ChatCompletion) -> ToolCall | None:
    return next((c for c in server_tools(completion) if c.name == "estimate_premium"), None)


def cjk_share(text: str) -> float:
    letters = [ch for ch in text if ch.isalpha()]
    return sum(1 for ch in letters if CJK.match(ch)) / max(len(letters), 1)


# -- answers ---------------------------------------------------------------------------------


def test_chinese_question_gets_a_chinese_answer_with_citations(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="credit-advisor",
        messages=[{"role": "system", "content": "You are helpful."}, user("逾期申报期限是多久？")],
    )
    assert completion.object == "chat.completion"
    assert completion.model == "credit-advisor"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    answer = choice.message.content or ""
    assert cjk_share(answer) > 0.8, answer
    assert "60" in answer
    citations = citations_of(completion)
    assert citations and all(f"[{c.n}]" in answer for c in citations)
    assert completion.model_extra["credit_advisor"]["lang"] == "zh"
    assert completion.usage is not None and completion.usage.completion_tokens > 0
    assert completion.usage.total_tokens == (
        completion.usage.prompt_tokens + completion.usage.completion_tokens
    )


def test_english_question_gets_an_english_answer_with_citations(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[user("How long do I have to report an overdue payment to the insurer?")],
    )
    assert completion.model == "gpt-4o-mini"  # whatever name the tool uses is echoed
    answer = completion.choices[0].message.content or ""
    assert cjk_share(answer) < 0.05, answer
    assert "60 days" in answer
    assert citations_of(completion)
    assert completion.model_extra["credit_advisor"]["lang"] == "en"


def test_server_side_tools_are_reported_in_extras_never_as_tool_calls_for_the_client(
    client: openai.OpenAI,
) -> None:
    completion = client.chat.completions.create(
        model="credit-advisor",
        messages=[user("Quick quote: electronics, RMB 30m credit sales a year, 60 days average.")],
    )
    assert completion.choices[0].message.tool_calls is None
    assert completion.choices[0].finish_reason == "stop"
    call = premium_call(completion)
    assert call is not None and call.args["annual_credit_sales"] == 30_000_000


def test_unknown_openai_parameters_are_accepted(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="credit-advisor",
        messages=[user("什么是DSO？")],
        temperature=0.2,
        top_p=0.9,
        max_tokens=20,
        n=1,
        seed=7,
        user="support-agent-7",
        tool_choice="auto",
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "lookup_customer",
                    "description": "Find a customer in the CRM.",
                    "parameters": {"type": "object", "properties": {"name": {"type": "string"}}},
                },
            }
        ],
        extra_body={"some_future_parameter": {"x": 1}},
    )
    assert completion.choices[0].message.content
    assert completion.choices[0].message.tool_calls is None


def test_wire_format_validates_against_the_openai_types(api_server: Any) -> None:
    headers = {"Authorization": f"Bearer {SUPPORT_KEY}"}
    body = {"model": "credit-advisor", "messages": [user("什么是信用保险？")]}
    plain = httpx.post(
        f"{api_server.url}/v1/chat/completions", json=body, headers=headers, timeout=120
    )
    assert plain.status_code == 200
    ChatCompletion.model_validate(plain.json())  # strict validation, not the SDK's lenient parse

    body |= {"stream": True, "stream_options": {"include_usage": True}}
    with httpx.stream(
        "POST", f"{api_server.url}/v1/chat/completions", json=body, headers=headers, timeout=120
    ) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in resp.read().decode().split("\n") if line]
    assert not [line for line in lines if line.startswith("event:")]
    data = [line.removeprefix("data: ") for line in lines if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    chunks = [ChatCompletionChunk.model_validate(json.loads(d)) for d in data[:-1]]
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert [c.choices[0].finish_reason for c in chunks[:-1]].count("stop") == 1


# -- streaming -------------------------------------------------------------------------------


def test_stream_deltas_add_up_to_the_stored_answer_and_the_last_chunk_cites(
    client: openai.OpenAI, api_server: Any
) -> None:
    stream = client.chat.completions.create(
        model="credit-advisor",
        messages=[user("客户逾期了，索赔需要准备哪些材料？")],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason == "stop")
    session_id = final.model_extra["session_id"]
    stored = api_server.assistant.history(session_id)
    assert [m["role"] for m in stored] == ["user", "assistant"]
    assert text == stored[-1]["content"]
    citations = citations_of(final)
    assert citations and all(f"[{c.n}]" in text for c in citations)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0


# -- sessions --------------------------------------------------------------------------------


def test_resent_history_continues_the_session_into_a_quote(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(model="credit-advisor", messages=[user(QUOTE_START)])
    assert premium_call(first) is None  # the turnover is still missing
    history = [user(QUOTE_START), assistant_msg(first.choices[0].message.content or "")]
    second = client.chat.completions.create(
        model="credit-advisor", messages=[*history, user(QUOTE_TURNOVER)]
    )
    call = premium_call(second)
    assert call is not None, second.choices[0].message.content
    assert call.args["industry"] == "electronics"  # only turn 1 said so
    assert call.args["annual_credit_sales"] == 50_000_000
    assert second.model_extra["session_id"] == first.model_extra["session_id"]
    # Control: the same message without the history is a new conversation. It is quoted
    # at once (answer first), but with the industry unknown, not turn 1's electronics.
    alone = client.chat.completions.create(model="credit-advisor", messages=[user(QUOTE_TURNOVER)])
    assert alone.model_extra["session_id"] != first.model_extra["session_id"]
    quoted = premium_call(alone)
    assert quoted is not None and "industry" not in quoted.args


def test_explicit_session_id_continues_a_session_started_on_the_native_api(
    client: openai.OpenAI, api_server: Any
) -> None:
    started = httpx.post(f"{api_server.url}/v1/chat", json={"message": QUOTE_START}, timeout=120)
    session_id = started.json()["session_id"]
    completion = client.chat.completions.create(
        model="credit-advisor",
        messages=[user(QUOTE_TURNOVER)],
        extra_body={"session_id": session_id},
    )
    assert completion.model_extra["session_id"] == session_id
    call = premium_call(completion)
    assert call is not None and call.args["industry"] == "electronics"


def test_a_refused_turn_in_between_keeps_the_session(client: openai.OpenAI) -> None:
    first = client.chat.completions.create(model="credit-advisor", messages=[user(QUOTE_START)])
    history = [user(QUOTE_START), assistant_msg(first.choices[0].message.content or "")]
    # An emoji-only message gets a friendly reply that the assistant does not store.
    nod = client.chat.completions.create(model="credit-advisor", messages=[*history, user("👍")])
    history += [user("👍"), assistant_msg(nod.choices[0].message.content or "")]
    third = client.chat.completions.create(
        model="credit-advisor", messages=[*history, user(QUOTE_TURNOVER)]
    )
    assert third.model_extra["session_id"] == first.model_extra["session_id"]
    call = premium_call(third)
    assert call is not None and call.args["industry"] == "electronics"


def test_two_conversations_with_the_same_opening_never_share_later_turns(
    client: openai.OpenAI, api_server: Any
) -> None:
    """Identical openings get identical grounded answers, hence one history digest; the
    second conversation to continue must not land in a session the first one moved on."""
    opening = [user(QUOTE_START)]
    a1 = client.chat.completions.create(model="credit-advisor", messages=opening)
    b1 = client.chat.completions.create(model="credit-advisor", messages=opening)
    assert a1.choices[0].message.content == b1.choices[0].message.content
    a_history = [*opening, assistant_msg(a1.choices[0].message.content or "")]
    b_history = [*opening, assistant_msg(b1.choices[0].message.content or "")]
    a2 = client.chat.completions.create(
        model="credit-advisor", messages=[*a_history, user(QUOTE_TURNOVER)]
    )
    b2 = client.chat.completions.create(
        model="credit-advisor", messages=[*b_history, user("年销售额三千万")]
    )
    b_session = api_server.assistant.history(b2.model_extra["session_id"])
    assert QUOTE_TURNOVER not in [m["content"] for m in b_session]
    b_call = premium_call(b2)
    assert b_call is None or b_call.args["annual_credit_sales"] == 30_000_000
    a_session = api_server.assistant.history(a2.model_extra["session_id"])
    assert "年销售额三千万" not in [m["content"] for m in a_session]


# -- errors and models -----------------------------------------------------------------------


def test_wrong_key_raises_authentication_error(api_server: Any) -> None:
    bad = openai.OpenAI(base_url=f"{api_server.url}/v1", api_key="not-a-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        bad.chat.completions.create(model="credit-advisor", messages=[user("你好")])
    assert caught.value.status_code == 401
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == "unauthorized"
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    no_key = httpx.post(f"{api_server.url}/v1/chat/completions", json={"messages": [user("hi")]})
    assert no_key.status_code == 401 and no_key.json()["error"]["code"] == "unauthorized"


def test_admin_key_may_use_the_route_too(api_server: Any) -> None:
    admin = openai.OpenAI(base_url=f"{api_server.url}/v1", api_key=ADMIN_KEY, max_retries=0)
    assert [m.id for m in admin.models.list()] == ["credit-advisor"]


def test_last_message_must_be_a_user_message(client: openai.OpenAI, api_server: Any) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        client.chat.completions.create(
            model="credit-advisor", messages=[user("你好"), assistant_msg("您好！")]
        )
    assert isinstance(caught.value.body, dict) and caught.value.body["code"] == "invalid_request"
    blank = httpx.post(
        f"{api_server.url}/v1/chat/completions",
        json={"messages": [{"role": "user", "content": [{"type": "text", "text": "  "}]}]},
        headers={"Authorization": f"Bearer {SUPPORT_KEY}", "Accept-Language": "en"},
    )
    assert blank.status_code == 422
    assert blank.json()["error"]["message"].startswith("The last message must be a user message")
    assert "Traceback" not in blank.text


def test_content_given_as_text_parts_is_read(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="credit-advisor",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "How long do I have to report"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                    {"type": "text", "text": "an overdue payment to the insurer?"},
                ],
            }
        ],
    )
    assert "60 days" in (completion.choices[0].message.content or "")
    assert completion.model_extra["credit_advisor"]["lang"] == "en"


def test_models_list_and_retrieve(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["credit-advisor"]
    assert client.models.retrieve("credit-advisor").owned_by == "credit-advisor"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-5")


# -- LangChain -------------------------------------------------------------------------------


def test_langchain_chat_openai_streams_and_continues_with_tools_bound(api_server: Any) -> None:
    from langchain_core.messages import AIMessage, HumanMessage
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    @tool
    def lookup_customer(name: str) -> str:
        """Find a customer in the CRM."""
        return name

    llm = ChatOpenAI(
        model="credit-advisor",
        base_url=f"{api_server.url}/v1",
        api_key=SUPPORT_KEY,
        max_retries=0,
        timeout=120,
        stream_usage=True,
    ).bind_tools([lookup_customer])
    pieces = list(llm.stream([HumanMessage(QUOTE_START)]))
    first_text = "".join(str(p.content) for p in pieces)
    assert first_text and not any(getattr(p, "tool_call_chunks", None) for p in pieces)
    assert any(getattr(p, "usage_metadata", None) for p in pieces)

    second = llm.invoke(
        [HumanMessage(QUOTE_START), AIMessage(first_text), HumanMessage(QUOTE_TURNOVER)]
    )
    assert isinstance(second, AIMessage) and not second.tool_calls
    # The quote (premium range in yuan) proves the streamed turn's session was continued.
    assert "保费" in str(second.content) and re.search(r"\d[\d,.]*\s*万?元", str(second.content))
