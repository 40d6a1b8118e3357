"""structgen inside vLLM 0.34.0, through vLLM's own classes on the CPU (no GPU here).

What runs: vLLM's ``VllmConfig``/``ModelConfig`` for SmolLM2 (device "cpu"), its custom
logits-processor loader and per-request validator (``--logits-processors`` by FQCN), its
``LogitsProcRequestState`` built from vLLM's ``CPURequestState`` (the request slots, token
table and lengths vLLM keeps; the GPU runner's ``RequestState`` needs pinned memory, which
torch refuses without an accelerator), its ``LogitsContext``, ``SamplingParams`` and
``Request``, and the scheduler-side ``StructuredOutputManager`` (grammar compilation on its
executor, ``grammar_bitmask``, ``accept_tokens``). The oracle is structgen's own plain loop
(``ConstrainedLogits``) with the same model, fresh matchers, and ``jsonschema``.
"""

from __future__ import annotations

import json
import time

import jsonschema
import numpy as np
import pytest
import torch
from vllm.config import DeviceConfig, ModelConfig, VllmConfig
from vllm.exceptions import VLLMValidationError
from vllm.sampling_params import SamplingParams, StructuredOutputsParams
from vllm.v1.request import Request
from vllm.v1.structured_output import StructuredOutputManager
from vllm.v1.worker.cpu.states import CPURequestState
from vllm.v1.worker.gpu.sample.logits_processor import (
    LogitsContext,
    build_custom_logits_processors,
    build_custom_logits_processors_params_validator,
)

from structgen import compile_json_schema, compile_regex
from structgen.bitmask import allocate_token_bitmask
from structgen.integrations.plain import ConstrainedLogits
from structgen.integrations.vllm import StructgenBackend, StructgenLogitsProcessor
from structgen.integrations.vllm.constraints import SCHEMA_OPTIONS

FQCN = "structgen.integrations.vllm:StructgenLogitsProcessor"
SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string", "maxLength": 8}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}
YES_NO = "(yes|no)"
CODE = "[0-9]{2}-[a-z]{2}"


@pytest.fixture(scope="module")
def smollm2():
    """The model on one torch thread (on the shared 2-core machine torch's default thread
    pool ran a forward pass ten times slower), restored afterwards."""
    from structgen.models import load_default

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield load_default(device="cpu")
    torch.set_num_threads(threads)
    _LOGITS.clear()


@pytest.fixture(scope="module")
def vllm_config(smollm2):
    _, tokenizer = smollm2
    path = tokenizer.name_or_path  # the de-quantised model's directory (config + tokenizer)
    model_config = ModelConfig(model=path, tokenizer=path, dtype="float32")
    return VllmConfig(model_config=model_config, device_config=DeviceConfig(device="cpu"))


def _request_states(vocab_size: int) -> CPURequestState:
    return CPURequestState(
        max_num_reqs=4,
        max_model_len=256,
        max_num_batched_tokens=256,
        vocab_size=vocab_size,
        device=torch.device("cpu"),
    )


def _processor(vllm_config, states: CPURequestState) -> StructgenLogitsProcessor:
    """Loaded by FQCN and built by vLLM's own loader, as ``--logits-processors`` does."""
    (processor,) = build_custom_logits_processors(vllm_config, states, False, [FQCN])
    assert isinstance(processor, StructgenLogitsProcessor)
    return processor


def _prompt(tokenizer, text: str) -> list[int]:
    messages = [{"role": "user", "content": text}]
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    return list(tokenizer.encode(text, add_special_tokens=False))


_LOGITS: dict[tuple[int, ...], torch.Tensor] = {}


def _next_logits(model, ids: list[int]) -> torch.Tensor:
    """The model's next-token logits after ``ids`` (a pure function, memoised: the plain loop
    asks for the sequences the processor's run already scored), a fresh copy each call."""
    key = tuple(ids)
    if key not in _LOGITS:
        with torch.no_grad():
            _LOGITS[key] = model(torch.tensor([ids])).logits[0, -1].float()
    return _LOGITS[key].clone()


def _plain_greedy(model, compiled, prompt: list[int], limit: int) -> list[int]:
    """structgen's plain loop: the per-request callable, greedy, until an end id."""
    constrain = ConstrainedLogits(compiled)
    out: list[int] = []
    while len(out) < limit:
        token = int(torch.argmax(constrain(out, _next_logits(model, prompt + out))))
        out.append(token)
        if token in compiled.vocab.eos_ids:
            break
    return out


def test_the_processor_decodes_a_batch_like_the_plain_loop(smollm2, vllm_config):
    """Greedy through the processor with vLLM's batch layout — rows reordered every step, a
    request without a constraint beside two constrained ones, a finished request's slot
    reused by a new one — gives, per request, exactly the plain loop's tokens."""
    model, tokenizer = smollm2
    states = _request_states(model.config.vocab_size)
    processor = _processor(vllm_config, states)
    validate = build_custom_logits_processors_params_validator([FQCN])
    eos = set(processor.vocab.eos_ids)
    requests = {
        "person": ("Describe a person as JSON.", {"structgen_json_schema": json.dumps(SCHEMA)}),
        "answer": ("Is the sky blue? Answer yes or no.", {"structgen_regex": YES_NO}),
        "free": ("Say hello.", None),
        "later": ("Is water wet? Answer yes or no.", {"structgen_regex": YES_NO}),
    }
    limit = 24
    prompts = {name: _prompt(tokenizer, text) for name, (text, _) in requests.items()}
    outputs: dict[str, list[int]] = {}
    slot_of: dict[str, int] = {}

    def admit(name: str) -> None:
        params = SamplingParams(temperature=0.0, max_tokens=limit, extra_args=requests[name][1])
        validate(params)
        states.add_request(name, len(prompts[name]), prompts[name], 0, limit)
        slot_of[name] = states.req_id_to_index[name]
        outputs[name] = []
        assert processor.add_request(slot_of[name], params) is (requests[name][1] is not None)

    for name in ("person", "answer", "free"):
        admit(name)
    rng = np.random.default_rng(0)
    while slot_of:
        names = list(rng.permutation(sorted(slot_of)))
        slots = torch.tensor([slot_of[n] for n in names], dtype=torch.int64)
        sequences = [prompts[n] + outputs[n] for n in names]
        logits = torch.stack([_next_logits(model, ids) for ids in sequences])
        context = LogitsContext(
            expanded_idx_mapping=slots,
            idx_mapping=slots,
            idx_mapping_np=slots.numpy(),
            expanded_local_pos=torch.zeros(len(names), dtype=torch.int64),
            input_ids=torch.tensor([ids[-1] for ids in sequences]),
            pos=torch.tensor([len(ids) - 1 for ids in sequences]),
            seq_lens_upper_bound_np=np.array([len(ids) for ids in sequences]),
        )
        chosen = torch.argmax(processor.apply(logits, context), dim=1).tolist()
        for name, token in zip(names, chosen):
            slot = slot_of[name]
            # what vLLM's post_update kernel does with a sampled token
            states.all_token_ids[slot, states.total_len[slot]] = token
            states.total_len[slot] += 1
            outputs[name].append(token)
            if token in eos or len(outputs[name]) == (3 if name == "free" else limit):
                states.remove_request(name)
                del slot_of[name]
                if name == "answer":
                    freed = slot
                    admit("later")
                    assert slot_of["later"] == freed  # vLLM's free list hands the slot back
    assert "later" in outputs

    vocab = processor.vocab
    person = compile_json_schema(SCHEMA, vocab, **SCHEMA_OPTIONS)
    yes_no = compile_regex(YES_NO, vocab)
    for name, compiled in (("person", person), ("answer", yes_no), ("later", yes_no)):
        expected = _plain_greedy(model, compiled, prompts[name], limit)
        assert outputs[name] == expected, name
        assert outputs[name][-1] in eos
    text = tokenizer.decode(outputs["person"][:-1])
    jsonschema.validate(json.loads(text), SCHEMA)
    assert tokenizer.decode(outputs["answer"][:-1]) in ("yes", "no")
    # the unconstrained request is plain greedy decoding
    free = prompts["free"]
    plain = [int(torch.argmax(_next_logits(model, free + outputs["free"][:i]))) for i in (0, 1, 2)]
    assert outputs["free"][:3] == plain


def _masked(logits_row: torch.Tensor) -> set[int]:
    return set(torch.nonzero(torch.isinf(logits_row)).flatten().tolist())


def _fresh_masked(compiled, tokens: list[int], width: int) -> set[int]:
    matcher = compiled.matcher()
    for token in tokens:
        assert matcher.advance(token)
    bitmask = allocate_token_bitmask(1, compiled.vocab_size)
    matcher.fill_next_token_bitmask(bitmask, 0)
    bits = np.unpackbits(bitmask.view(np.uint8), bitorder="little")[:width]
    return set(np.flatnonzero(bits == 0).tolist())


def test_draft_rows_see_their_drafts_and_a_rejected_draft_rolls_back(smollm2, vllm_config):
    """Speculative decoding's layout: one row per draft position, each masked as a fresh
    matcher fed the committed tokens plus the drafts before it; a later step whose drafts
    differ (rejection) rolls the matcher back."""
    model, tokenizer = smollm2
    states = _request_states(model.config.vocab_size)
    processor = _processor(vllm_config, states)
    vocab = processor.vocab
    compiled = compile_regex(CODE, vocab)
    prompt = _prompt(tokenizer, "Code?")
    states.add_request("r", len(prompt), prompt, 0, 16)
    slot = states.req_id_to_index["r"]
    processor.add_request(
        slot, SamplingParams(extra_args={"structgen_regex": compiled.source[7:-1]})
    )
    ids = {text: tokenizer.convert_tokens_to_ids(text) for text in ("1", "2", "-", "a", "x")}
    width = model.config.vocab_size

    def step(committed: list[int], drafts: list[int]) -> list[set[int]]:
        states.all_token_ids[slot, len(prompt) : len(prompt) + len(committed)] = torch.tensor(
            committed, dtype=torch.int32
        )
        states.total_len[slot] = len(prompt) + len(committed)
        rows = len(drafts) + 1
        last = (prompt + committed)[-1]
        context = LogitsContext(
            expanded_idx_mapping=torch.full((rows,), slot, dtype=torch.int64),
            idx_mapping=torch.tensor([slot]),
            idx_mapping_np=np.array([slot]),
            expanded_local_pos=torch.arange(rows),
            input_ids=torch.tensor([last, *drafts]),
            pos=torch.arange(rows) + len(prompt) + len(committed) - 1,
            seq_lens_upper_bound_np=np.array([len(prompt) + len(committed) + rows]),
        )
        logits = processor.apply(torch.zeros(rows, width), context)
        return [_masked(logits[row]) for row in range(rows)]

    one, two, dash, a, x = ids["1"], ids["2"], ids["-"], ids["a"], ids["x"]
    masks = step([one], [two, dash])
    assert masks == [
        _fresh_masked(compiled, t, width) for t in ([one], [one, two], [one, two, dash])
    ]
    # the drafts were rejected after "1"; "1", "1" was sampled instead: back to two tokens
    masks = step([one, one], [dash, a])
    expected = [[one, one], [one, one, dash], [one, one, dash, a]]
    assert masks == [_fresh_masked(compiled, t, width) for t in expected]
    # a draft the constraint rejects ("x" after "11"): the rows after it are left unmasked
    masks = step([one, one], [x, a])
    assert masks[0] == _fresh_masked(compiled, [one, one], width)
    assert masks[1] == masks[2] == set()


def test_vllm_validates_requests_with_the_processor(vllm_config):
    validate = build_custom_logits_processors_params_validator([FQCN])
    validate(SamplingParams(max_tokens=4))
    validate(SamplingParams(extra_args={"structgen_json_schema": SCHEMA}))
    validate(SamplingParams(extra_args={"structgen_grammar": 'start: "a"+'}))
    with pytest.raises(VLLMValidationError, match="structgen_json_schema, structgen_regex"):
        validate(
            SamplingParams(extra_args={"structgen_json_schema": SCHEMA, "structgen_regex": "a"})
        )
    with pytest.raises(VLLMValidationError, match="structgen regex"):
        validate(SamplingParams(extra_args={"structgen_regex": "(a"}))
    with pytest.raises(VLLMValidationError, match="not JSON text"):
        validate(SamplingParams(extra_args={"structgen_json_schema": "{type: object}"}))
    with pytest.raises(VLLMValidationError, match="must be a str"):
        validate(SamplingParams(extra_args={"structgen_regex": 3}))


def test_the_backend_fills_vllms_grammar_bitmask(vllm_config):
    """vLLM's scheduler-side StructuredOutputManager with a StructgenBackend: grammars compiled
    on its executor from the request's StructuredOutputsParams, bitmask rows from
    ``grammar_bitmask`` equal to fresh matchers', ``accept_tokens`` advancing, a rejected
    token leaving the grammar unchanged, ``validate_tokens`` and ``rollback``."""
    manager = StructuredOutputManager(vllm_config)
    vocab_size = vllm_config.model_config.get_vocab_size()
    backend = StructgenBackend(vllm_config, tokenizer=manager.tokenizer, vocab_size=vocab_size)
    manager.backend = backend  # what grammar_init builds for a built-in backend name
    params = {
        "json": StructuredOutputsParams(json=SCHEMA),
        "choice": StructuredOutputsParams(choice=["red wine", "a.b"]),
        "regex": StructuredOutputsParams(regex="[0-9]+"),
    }
    requests = {}
    for name, structured in params.items():
        structured._backend = "structgen"  # set by vLLM's frontend from the engine's config
        request = Request(name, [1, 2, 3], SamplingParams(structured_outputs=structured), None)
        manager.grammar_init(request)
        requests[name] = request
    deadline = time.monotonic() + 120
    while not all(r.structured_output_request.is_grammar_ready for r in requests.values()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    vocab = backend.vocab
    oracles = {
        "json": compile_json_schema(SCHEMA, vocab, **SCHEMA_OPTIONS),
        "choice": compile_regex(r"red wine|a\.b", vocab),
        "regex": compile_regex("[0-9]+", vocab),
    }
    fed: dict[str, list[int]] = {name: [] for name in requests}
    order = list(requests)
    for _ in range(6):
        bitmask = manager.grammar_bitmask(requests, order, {})
        assert bitmask.dtype == np.int32 and bitmask.shape == (3, (vocab_size + 31) // 32)
        for row, name in enumerate(order):
            grammar = requests[name].structured_output_request.grammar
            if grammar.is_terminated():  # vLLM leaves a finished grammar's row all allowed
                assert (bitmask[row] == -1).all()
                continue
            matcher = oracles[name].matcher()
            for token in fed[name]:
                matcher.advance(token)
            expected = allocate_token_bitmask(1, vocab_size)
            matcher.fill_next_token_bitmask(expected, 0)
            assert np.array_equal(bitmask[row], expected[0]), name
            bits = np.unpackbits(bitmask[row].view(np.uint8), bitorder="little")[:vocab_size]
            allowed, forbidden = np.flatnonzero(bits), int(np.flatnonzero(bits == 0)[0])
            before = grammar.validate_tokens([forbidden])
            assert before == [] and not manager.accept_tokens(requests[name], [forbidden])
            words = [t for t in allowed.tolist() if t not in vocab.eos_ids] or allowed.tolist()
            token = int(words[len(fed[name]) % len(words)])
            assert grammar.validate_tokens([token]) == [token]
            assert manager.accept_tokens(requests[name], [token])
            fed[name].append(token)
        order.reverse()
    grammar = requests["regex"].structured_output_request.grammar
    grammar.rollback(2)
    del fed["regex"][-2:]
    assert grammar.num_processed_tokens == len(fed["regex"])
    bitmask = manager.grammar_bitmask(requests, ["regex"], {})
    matcher = oracles["regex"].matcher()
    for token in fed["regex"]:
        matcher.advance(token)
    expected = allocate_token_bitmask(1, vocab_size)
    matcher.fill_next_token_bitmask(expected, 0)
    assert np.array_equal(bitmask[0], expected[0])
    manager.clear_backend()
