"""StructgenLogitsProcessor driving SmolLM2-135M's ``model.generate`` with real compiled regexes."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
import torch

from structgen import compile_json_schema, compile_regex, generate_result
from structgen.errors import ConfigurationError, MatcherError
from structgen.generation import GENERATION_SCHEMA_OPTIONS
from structgen.integrations.transformers import StructgenLogitsProcessor
from structgen.vocab import Vocabulary

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2():
    from structgen.models import load_default

    model, tokenizer = load_default(device="cpu")
    vocab = Vocabulary.from_tokenizer(tokenizer, vocab_size=model.config.vocab_size)
    return model, tokenizer, vocab


def _chat(tokenizer, prompts: list[str]) -> dict:
    texts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
        for prompt in prompts
    ]
    return tokenizer(
        texts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False
    )


def _texts(vocab: Vocabulary, rows: torch.Tensor, prompt_length: int) -> list[str]:
    """Generated text of each row: its bytes up to the first EOS (padding after it dropped)."""
    texts = []
    for row in rows[:, prompt_length:].tolist():
        body = []
        for token in row:
            if token in vocab.eos_ids:
                break
            body.append(vocab.token_bytes[token])
        texts.append(b"".join(body).decode("utf-8"))
    return texts


def _generate(model, inputs, processor, **options) -> torch.Tensor:
    options.setdefault("do_sample", False)
    with torch.no_grad():
        return model.generate(**inputs, logits_processor=[processor], **options)


def test_left_padded_batch_with_one_regex_per_row(smollm2):
    model, tokenizer, vocab = smollm2
    patterns = [r"\d{3}-\d{4}", r"(yes|no)"]
    inputs = _chat(tokenizer, ["Give me a phone number.", "Is the sky blue? Answer yes or no."])
    mask = inputs["attention_mask"]
    assert mask[:, 0].tolist() != mask[:, -1].tolist(), "the two prompts should differ in length"
    processor = StructgenLogitsProcessor(
        [compile_regex(pattern, vocab) for pattern in patterns], pad_token_id=tokenizer.pad_token_id
    )
    output = _generate(
        model, inputs, processor, max_new_tokens=12, pad_token_id=tokenizer.pad_token_id
    )
    texts = _texts(vocab, output, inputs["input_ids"].shape[1])
    for pattern, text in zip(patterns, texts, strict=True):
        assert re.fullmatch(pattern, text, re.ASCII), (pattern, text)
    # the short answer finished first: after its EOS, only EOS/padding followed
    short = output[1, inputs["input_ids"].shape[1] :].tolist()
    eos_at = next(i for i, token in enumerate(short) if token in vocab.eos_ids)
    assert set(short[eos_at:]) <= set(vocab.eos_ids) | {tokenizer.pad_token_id}
    # generation stops right after the last row's EOS, so the processor never sees that token
    first, second = processor.matchers
    assert second.is_terminated() and first.is_accepting()
    assert processor.finished == [False, True]


def test_num_return_sequences_share_one_grammar_and_reuse_resets(smollm2):
    model, tokenizer, vocab = smollm2
    pattern = r"[A-Z][a-z]{2,6}"
    compiled = compile_regex(pattern, vocab)
    processor = StructgenLogitsProcessor(compiled, pad_token_id=tokenizer.pad_token_id)
    inputs = _chat(tokenizer, ["Name a fruit.", "Name a city in Italy."])
    with torch.random.fork_rng():
        torch.manual_seed(0)
        output = _generate(
            model,
            inputs,
            processor,
            do_sample=True,
            top_k=0,
            num_return_sequences=2,
            max_new_tokens=7,
        )
    assert output.shape[0] == 4
    for text in _texts(vocab, output, inputs["input_ids"].shape[1]):
        assert re.fullmatch(pattern, text, re.ASCII), text
    # the same processor in a second generate call starts over
    inputs = _chat(tokenizer, ["Name a colour, capitalised."])
    output = _generate(model, inputs, processor, max_new_tokens=8)
    [text] = _texts(vocab, output, inputs["input_ids"].shape[1])
    assert re.fullmatch(pattern, text, re.ASCII), text


def test_beam_search_follows_reordered_beams(smollm2):
    model, tokenizer, vocab = smollm2
    pattern = r"(19|20)\d{2}"
    processor = StructgenLogitsProcessor(
        compile_regex(pattern, vocab), pad_token_id=tokenizer.pad_token_id
    )
    lineage = []
    assign = processor._assign

    def recording(ids):
        previous = processor._previous_ids
        extends = previous is not None and torch.equal(ids[:, :-1], previous)
        lineage.append(extends)
        return assign(ids)

    processor._assign = recording
    inputs = _chat(tokenizer, ["In which year did the Berlin wall fall?"])
    output = _generate(
        model, inputs, processor, num_beams=2, num_return_sequences=2, max_new_tokens=5
    )
    for text in _texts(vocab, output, inputs["input_ids"].shape[1]):
        assert re.fullmatch(pattern, text, re.ASCII), text
    # some step's rows did not just extend the previous step's rows in place
    assert not all(lineage[1:]), "beam search kept every row in place; the test shows nothing"


class _ForceToken:
    """A processor placed after structgen's that forces one token, masked or not."""

    def __init__(self, token: int) -> None:
        self.token = token

    def __call__(self, input_ids, scores):
        scores[:] = -float("inf")
        scores[:, self.token] = 0.0
        return scores


def test_a_forbidden_token_raises_matcher_error_with_context(smollm2):
    model, tokenizer, vocab = smollm2
    letter = tokenizer.convert_tokens_to_ids("x")
    processor = StructgenLogitsProcessor(
        compile_regex(r"\d+", vocab), pad_token_id=tokenizer.pad_token_id
    )
    inputs = _chat(tokenizer, ["Count to three."])
    expected = rf"row 0, generated token 1: .*token id {letter} b'x'"
    with pytest.raises(MatcherError, match=expected), torch.no_grad():
        model.generate(
            **inputs,
            logits_processor=[processor, _ForceToken(letter)],
            max_new_tokens=4,
            do_sample=False,
        )


def test_logits_wider_than_the_tokenizer_are_masked(smollm2):
    _, tokenizer, _ = smollm2
    wide = Vocabulary.from_tokenizer(tokenizer, vocab_size=len(tokenizer) + 64)
    processor = StructgenLogitsProcessor(compile_regex(r"[0-9a-z ]*", wide))
    input_ids = torch.tensor([[1, 2, 3]])
    scores = torch.zeros(1, wide.size + 7)  # wider than the bitmask too
    processor(input_ids, scores)
    assert torch.isinf(scores[0, len(tokenizer) :]).all()
    digit = tokenizer.convert_tokens_to_ids("7")
    assert scores[0, digit] == 0.0
    assert torch.isinf(scores[0, tokenizer.convert_tokens_to_ids("X")])


def test_scores_narrower_than_the_vocabulary_are_refused(smollm2):
    _, _, vocab = smollm2
    processor = StructgenLogitsProcessor(compile_regex(r"[a-z]+", vocab))
    scores = torch.zeros(1, 1_000)
    shape = rf"expected scores of shape \[1, >= {vocab.size}\].*got \(1, 1000\)"
    with pytest.raises(ConfigurationError, match=shape):
        processor(torch.tensor([[1, 2, 3]]), scores)
    assert (scores == 0).all(), "nothing was masked"
    with pytest.raises(ConfigurationError, match="expected scores of shape"):
        processor(torch.tensor([[1, 2, 3]]), torch.zeros(1, 1, vocab.size))


def test_finished_rows_allow_only_eos_and_padding(smollm2):
    _, tokenizer, vocab = smollm2
    processor = StructgenLogitsProcessor(
        compile_regex(r"7", vocab), pad_token_id=tokenizer.pad_token_id
    )
    seven = tokenizer.convert_tokens_to_ids("7")
    eos = vocab.eos_ids[0]
    ids = torch.tensor([[5, 6], [5, 6]])
    processor(ids, torch.zeros(2, vocab.size))
    ids = torch.cat([ids, torch.tensor([[seven], [seven]])], dim=1)
    processor(ids, torch.zeros(2, vocab.size))
    ids = torch.cat([ids, torch.tensor([[eos], [eos]])], dim=1)
    scores = torch.zeros(2, vocab.size)
    processor(ids, scores)
    allowed = {int(i) for i in torch.nonzero(torch.isfinite(scores[0])).flatten()}
    assert allowed == set(vocab.eos_ids) | {tokenizer.pad_token_id}
    assert all(matcher.is_terminated() for matcher in processor.matchers)


def test_only_compiled_grammars_are_accepted():
    with pytest.raises(ConfigurationError, match="expected a CompiledGrammar"):
        StructgenLogitsProcessor(r"\d+")
    with pytest.raises(ConfigurationError, match="at least one"):
        StructgenLogitsProcessor([])


def test_grammar_count_must_fit_the_batch(smollm2):
    _, _, vocab = smollm2
    compiled = compile_regex(r"a", vocab)
    processor = StructgenLogitsProcessor([compiled, compiled])
    with pytest.raises(ConfigurationError, match="2 compiled grammars for a batch of 3 rows"):
        processor(torch.zeros(3, 2, dtype=torch.long), torch.zeros(3, vocab.size))


# -- JSON Schema through model.generate, against structgen's own loop --------------------------

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string", "maxLength": 12}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}
CITY = {
    "type": "object",
    "properties": {"city": {"type": "string", "enum": ["Paris", "Rome", "Oslo"]}},
    "required": ["city"],
    "additionalProperties": False,
}
PERSON_PROMPT = "Describe Ada Lovelace as JSON with her name and age."


@pytest.fixture(scope="module")
def schemas(smollm2):
    """The schemas compiled as structgen.generate compiles them (its schema options)."""
    _, _, vocab = smollm2
    return {
        "person": compile_json_schema(PERSON, vocab, **GENERATION_SCHEMA_OPTIONS),
        "city": compile_json_schema(CITY, vocab, **GENERATION_SCHEMA_OPTIONS),
    }


def _generated(vocab: Vocabulary, rows: torch.Tensor, prompt_length: int) -> list[list[int]]:
    """Generated ids of each row up to its first EOS (excluded)."""
    out = []
    for row in rows[:, prompt_length:].tolist():
        end = next((i for i, token in enumerate(row) if token in vocab.eos_ids), len(row))
        out.append(row[:end])
    return out


def _valid(schema: dict, text: str) -> None:
    jsonschema.validate(json.loads(text), schema)


@pytest.fixture(scope="module")
def greedy_person(smollm2, schemas):
    """Greedy tokens through model.generate with the processor (computed once)."""
    model, tokenizer, vocab = smollm2
    inputs = _chat(tokenizer, [PERSON_PROMPT])
    processor = StructgenLogitsProcessor(schemas["person"], pad_token_id=tokenizer.pad_token_id)
    output = _generate(model, inputs, processor, max_new_tokens=24)
    [tokens] = _generated(vocab, output, inputs["input_ids"].shape[1])
    return tokens


def test_greedy_generate_equals_structgens_own_loop(smollm2, greedy_person):
    model, tokenizer, vocab = smollm2
    reference = generate_result(
        PERSON_PROMPT,
        schema=PERSON,
        model=model,
        tokenizer=tokenizer,
        max_new_tokens=24,
        sampler="greedy",
        speculative=False,
        jump_forward=False,
    )
    assert greedy_person == reference.token_ids
    _valid(PERSON, reference.text)


def test_prompt_lookup_gives_the_greedy_tokens(smollm2, schemas, greedy_person):
    model, tokenizer, vocab = smollm2
    inputs = _chat(tokenizer, [PERSON_PROMPT])
    processor = StructgenLogitsProcessor(schemas["person"], pad_token_id=tokenizer.pad_token_id)
    output = _generate(model, inputs, processor, max_new_tokens=24, prompt_lookup_num_tokens=4)
    [tokens] = _generated(vocab, output, inputs["input_ids"].shape[1])
    assert tokens == greedy_person
    _valid(PERSON, _texts(vocab, output, inputs["input_ids"].shape[1])[0])


def test_sampling_gives_schema_valid_json(smollm2, schemas):
    model, tokenizer, vocab = smollm2
    inputs = _chat(tokenizer, [PERSON_PROMPT])
    processor = StructgenLogitsProcessor(schemas["person"], pad_token_id=tokenizer.pad_token_id)
    with torch.random.fork_rng():
        torch.manual_seed(1)
        output = _generate(model, inputs, processor, do_sample=True, top_k=0, max_new_tokens=24)
    [text] = _texts(vocab, output, inputs["input_ids"].shape[1])
    _valid(PERSON, text)


def test_beam_search_gives_schema_valid_json(smollm2, schemas):
    model, tokenizer, vocab = smollm2
    inputs = _chat(tokenizer, ["Which city is the capital of Italy? Answer as JSON."])
    processor = StructgenLogitsProcessor(schemas["city"], pad_token_id=tokenizer.pad_token_id)
    output = _generate(
        model, inputs, processor, num_beams=3, num_return_sequences=3, max_new_tokens=10
    )
    texts = _texts(vocab, output, inputs["input_ids"].shape[1])
    assert len(texts) == 3
    for text in texts:
        _valid(CITY, text)


def test_a_batch_with_two_schemas(smollm2, schemas):
    model, tokenizer, vocab = smollm2
    inputs = _chat(
        tokenizer, ["Which city is the capital of Norway? Answer as JSON.", PERSON_PROMPT]
    )
    processor = StructgenLogitsProcessor(
        [schemas["city"], schemas["person"]], pad_token_id=tokenizer.pad_token_id
    )
    output = _generate(
        model, inputs, processor, max_new_tokens=24, pad_token_id=tokenizer.pad_token_id
    )
    city, person = _texts(vocab, output, inputs["input_ids"].shape[1])
    _valid(CITY, city)
    _valid(PERSON, person)
