"""SmolLM2-135M-Instruct writes a tool call between free text under ``tool_calls_grammar``."""

from __future__ import annotations

import json

import pytest

from structgen.generation import generate_result
from structgen.runtime.tool_calls import tool_calls_grammar
from structgen.validation import DocumentValidator

WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string", "maxLength": 20}},
    "required": ["city"],
    "additionalProperties": False,
}
SHOT = '<tool_call>{"name":"get_weather","arguments":{"city":"Rome"}}</tool_call>'
PROMPT = (
    f"User: What is the weather in Rome?\nAssistant: Let me look. {SHOT} Done.\n"
    "User: What is the weather in Paris?\nAssistant:"
)


@pytest.mark.slow
def test_smollm2_writes_a_valid_call_between_free_text() -> None:
    grammar = tool_calls_grammar(
        [{"name": "get_weather", "parameters": WEATHER}], required=True, whitespace="compact"
    )
    result = generate_result(
        PROMPT, grammar=grammar, max_new_tokens=32, temperature=0, raw_prompt=True
    )
    before, rest = result.text.split("<tool_call>", 1)
    body, after = rest.split("</tool_call>", 1)
    assert before.strip() and "<tool_call>" not in after
    call = json.loads(body)
    assert call["name"] == "get_weather"
    assert DocumentValidator(WEATHER).is_valid(call["arguments"])
