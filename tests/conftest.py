"""Suite-wide fixtures: the real vocabularies and tokenizers (fetched once into a cache)."""

import os

# Nothing in the suite may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest_plugins = ["tests.helpers.vocab_fixtures"]
