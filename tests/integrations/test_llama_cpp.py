"""structgen.integrations.llama_cpp: a processor that follows llama-cpp-python's calls, checked
call by call on a small vocabulary, then end to end on the real llama.cpp running SmolLM2's GGUF
(against jsonschema, lark, ``re`` and structgen's own decoding loop on the transformers model)."""

from __future__ import annotations

import ctypes
import json
import re
from types import SimpleNamespace

import jsonschema
import lark
import llama_cpp
import numpy as np
import pytest

from structgen.errors import ConfigurationError, MatcherError
from structgen.generation import GENERATION_SCHEMA_OPTIONS
from structgen.integrations.llama_cpp import (
    JSON_OPTIONS,
    LlamaCppLogitsProcessor,
    generate_json,
    llama_end_ids,
    llama_vocabulary,
    make_logits_processor,
)
from structgen.runtime.compiler import compile_regex
from structgen.vocab import Vocabulary

# -- the processor's bookkeeping, on a vocabulary of a few tokens -------------------------------

# ids 0 and 6 end a sequence; llama.cpp stops at 0 only (6 is an end id it does not stop at)
TOKENS = [b"", b"a", b"b", b"ab", b"c", b"ba", b""]
EOS, OTHER_END = 0, 6


@pytest.fixture(scope="module")
def toy():
    vocab = Vocabulary(TOKENS, eos_ids=[EOS, OTHER_END], name="toy")
    return compile_regex("(ab|ba)+c", vocab)


def allowed(compiled, generated):
    """The oracle: the ids a fresh matcher accepts after ``generated`` (EOS once accepting)."""
    matcher = compiled.matcher()
    for token in generated:
        assert matcher.advance(token)
    return {t for t in range(len(TOKENS)) if matcher.accepts(t)}


def call(processor, ids):
    scores = np.zeros(len(TOKENS), dtype=np.float32)
    out = processor(np.asarray(ids, dtype=np.intc), scores)
    assert out is scores  # masked in place, as llama-cpp-python writes the result back
    return {t for t in range(len(TOKENS)) if np.isfinite(out[t])}


def test_follows_generated_ids_after_the_prompt(toy):
    processor = LlamaCppLogitsProcessor(toy)
    prompt = [4, 4, 1]  # prompt tokens are never fed to the matcher
    preference = [4, 3, 2, 5, 1, EOS]  # a "model" that takes the first id the mask leaves
    generated: list[int] = []
    for _ in range(8):
        mask = call(processor, prompt + generated)
        assert mask == allowed(toy, generated)
        token = next(t for t in preference if t in mask)
        if token == EOS:
            break
        generated.append(token)
    assert generated == [3, 4]  # "ab" "c", then the end
    assert processor.prompt_length == 3 and processor.generated == generated


def test_a_new_prompt_starts_a_new_generation(toy):
    processor = LlamaCppLogitsProcessor(toy)
    call(processor, [4, 1])
    call(processor, [4, 1, 3])  # generated "ab"
    assert processor.generated == [3]
    # shorter, longer by several tokens, or the same length: all new prompts
    for prompt in ([4], [4, 1, 3, 4, 4], [2, 2, 2]):
        assert call(processor, prompt) == allowed(toy, [])
        assert processor.prompt_length == len(prompt) and processor.generated == []
    # a generation that ended at the end id: the next call is a new prompt, even one token longer
    call(processor, [2])
    call(processor, [2, 3])
    call(processor, [2, 3, 4])
    assert processor.matcher.is_accepting()
    assert call(processor, [2, 3, 4, EOS]) == allowed(toy, [])
    assert processor.generated == []


def test_a_finished_constraint_allows_only_the_ids_llama_cpp_stops_at(toy):
    processor = LlamaCppLogitsProcessor(toy, end_ids=[EOS])
    call(processor, [1])
    call(processor, [1, 3])
    assert call(processor, [1, 3, 4]) == {EOS, OTHER_END}  # "abc" is complete
    # llama.cpp does not stop at OTHER_END: the matcher takes it, then only EOS is left
    assert call(processor, [1, 3, 4, OTHER_END]) == {EOS}
    assert call(processor, [1, 3, 4, OTHER_END, EOS, 2]) == allowed(toy, [])  # a new prompt


def test_a_token_outside_the_mask_raises_once_with_context(toy):
    processor = LlamaCppLogitsProcessor(toy)
    call(processor, [1])
    with pytest.raises(MatcherError, match=r"token id 4 b'c'.*reset\(\)"):
        call(processor, [1, 4])
    assert processor.prompt_length is None  # reset: the next call starts afresh
    assert call(processor, [1, 4]) == allowed(toy, [])


def test_refuses_what_it_cannot_follow(toy):
    processor = LlamaCppLogitsProcessor(toy)
    with pytest.raises(ConfigurationError, match="1-D numpy array"):
        processor(np.array([1]), np.zeros((1, len(TOKENS)), dtype=np.float32))
    with pytest.raises(ConfigurationError, match="over the 7 tokens"):
        processor(np.array([1]), np.zeros(3, dtype=np.float32))
    with pytest.raises(ConfigurationError, match="draft_model"):
        make_logits_processor(SimpleNamespace(draft_model=object()), regex="a")
    with pytest.raises(ConfigurationError, match="expected a CompiledGrammar"):
        LlamaCppLogitsProcessor("ab|ba")  # type: ignore[arg-type]


def test_schema_options_are_structgen_generate_s():
    assert JSON_OPTIONS == GENERATION_SCHEMA_OPTIONS


# -- the real llama.cpp on SmolLM2 ----------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 12},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "city": {"enum": ["Paris", "Oslo", "Lima"]},
    },
    "required": ["name", "age", "city"],
    "additionalProperties": False,
}
PROMPT = "Describe a person as JSON with a name, an age and a city."
GREEDY = {"temperature": 0.0, "top_k": 1}


@pytest.fixture(scope="module")
def llama():
    from structgen.vocab.smollm2 import default_model_gguf

    # one thread: llama.cpp's threads spin while they wait, so two of them on a busy 2-core
    # machine (the suite runs on 2 workers) are many times slower than one
    return llama_cpp.Llama(
        model_path=str(default_model_gguf()),
        n_ctx=512,
        n_threads=1,
        n_threads_batch=1,
        seed=0,
        verbose=False,
    )


def _completion(llama, processor, prompt, max_tokens):
    out = llama.create_completion(
        prompt,
        logits_processor=llama_cpp.LogitsProcessorList([processor]),
        max_tokens=max_tokens,
        **GREEDY,
    )
    return out["choices"][0]


@pytest.mark.slow
def test_vocabulary_is_the_one_llama_cpp_detokenizes(llama):
    vocab = llama_vocabulary(llama)
    assert len(vocab.token_bytes) == llama.n_vocab()
    model_vocab = llama._model.vocab
    buffer = ctypes.create_string_buffer(256)
    for token, expected in enumerate(vocab.token_bytes):
        n = llama_cpp.llama_token_to_piece(model_vocab, token, buffer, 256, 0, False)
        piece = buffer.raw[:n]
        assert piece == expected, (token, piece, expected)
    assert llama.token_eos() in vocab.eos_ids
    assert set(llama_end_ids(llama, vocab)) >= {llama.token_eos()}


@pytest.mark.slow
def test_schema_greedy_json_is_valid(llama):
    value = generate_json(llama, SCHEMA, PROMPT, max_tokens=48)
    jsonschema.validate(value, SCHEMA)


@pytest.mark.slow
def test_greedy_json_is_the_same_as_structgen_own_loop(llama):
    from structgen.generation import _prompt_ids, generate_result
    from structgen.models import load_default

    model, tokenizer = load_default(device="cpu")
    ours = generate_result(
        PROMPT, schema=SCHEMA, model=model, tokenizer=tokenizer, max_new_tokens=48
    )
    seen: list[list[int]] = []
    processor = make_logits_processor(llama, schema=SCHEMA)

    def watch(input_ids, scores):
        seen.append(list(map(int, input_ids)))
        return scores

    out = llama.create_chat_completion(
        messages=[{"role": "user", "content": PROMPT}],
        logits_processor=llama_cpp.LogitsProcessorList([processor, watch]),
        max_tokens=48,
        **GREEDY,
    )
    text = out["choices"][0]["message"]["content"]
    # the same prompt tokens (the GGUF's chat template, rendered by both)
    assert seen[0] == _prompt_ids(tokenizer, PROMPT)
    assert processor.generated == ours.token_ids
    assert text == ours.text
    jsonschema.validate(json.loads(text), SCHEMA)


@pytest.mark.slow
def test_grammar_and_regex_constraints(llama):
    grammar = 'start: "The answer is " NUMBER "."\nNUMBER: /[1-9][0-9]?/\n'
    processor = make_logits_processor(llama, grammar=grammar)
    choice = _completion(llama, processor, "Q: What is 6 times 7?\nA:", 12)
    lark.Lark(grammar).parse(choice["text"])
    assert choice["finish_reason"] == "stop"

    pattern = r"[0-9]{3}-[0-9]{4}"
    processor = make_logits_processor(llama, regex=pattern)
    choice = _completion(llama, processor, "A phone number:", 12)
    assert re.fullmatch(pattern, choice["text"])
    assert choice["finish_reason"] == "stop"


@pytest.mark.slow
def test_one_processor_serves_generation_after_generation(llama):
    processor = make_logits_processor(llama, schema=SCHEMA)
    prompts = ["A person as JSON:", "Another person, as JSON:", "A person as JSON:"]
    texts = [_completion(llama, processor, prompt, 40)["text"] for prompt in prompts]
    for text in texts:
        jsonschema.validate(json.loads(text), SCHEMA)
    fresh = make_logits_processor(llama, schema=SCHEMA)
    # the third (a prompt llama.cpp partly serves from its cache) equals a fresh processor's run
    assert texts[2] == texts[0] == _completion(llama, fresh, prompts[0], 40)["text"]
