"""Real-scale presets for LLM serving: model shapes and request-length distributions
(the GPUs' figures are in :mod:`vmsim.hw.gpu`).

Every figure carries its public source in a comment beside it. Model shapes are the Hugging Face
``config.json`` values (``num_hidden_layers``, ``num_attention_heads``, ``num_key_value_heads``,
``hidden_size``, ``max_position_embeddings``); parameter counts are computed exactly from those
configs (embeddings + layers + final norm + untied LM head where the model has one) and checked
against published totals where one was found. docs/llm.md ("Presets and their sources") has the tables.

Nothing here imports the rest of vmsim: the presets are plain data.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LENGTHS", "MODELS", "LengthPreset", "ModelPreset", "kv_bytes_per_token"]


def kv_bytes_per_token(n_layers: int, n_kv_heads: int, head_dim: int, dtype_bytes: int) -> int:
    """KV cache bytes of one token: keys and values (2) of every layer's KV heads."""
    return 2 * n_layers * n_kv_heads * head_dim * dtype_bytes


@dataclass(frozen=True)
class ModelPreset:
    """A served model's shape, as its config.json gives it."""

    name: str
    n_layers: int  # num_hidden_layers
    n_heads: int  # num_attention_heads (query heads)
    n_kv_heads: int  # num_key_value_heads (== n_heads without GQA)
    head_dim: int  # hidden_size // num_attention_heads
    hidden: int  # hidden_size
    params: float  # total parameter count
    dtype_bytes: int  # 2 for fp16/bf16
    max_model_len: int  # max_position_embeddings

    @property
    def kv_bytes_per_token(self) -> int:
        """Keys and values of one token over every layer (:func:`kv_bytes_per_token`)."""
        return kv_bytes_per_token(self.n_layers, self.n_kv_heads, self.head_dim, self.dtype_bytes)

    @property
    def weight_bytes(self) -> int:
        """Bytes of the weights at ``dtype_bytes`` per parameter."""
        return int(self.params * self.dtype_bytes)


#: Columns: name, layers, heads, KV heads, head size, hidden, parameters, dtype bytes, context.
_MODEL_ROWS: tuple[ModelPreset, ...] = (
    # OPT-13B, the vLLM paper's single-GPU model (Kwon et al., SOSP 2023, Table 1 / Section 6.1).
    # Config: https://huggingface.co/facebook/opt-13b/blob/main/config.json -- values read from a
    # verbatim copy (https://huggingface.co/deepnet/Basic-Facebook-13b, "_name_or_path":
    # "facebook/opt-13b"): 40 layers, 40 heads, hidden 5120, ffn_dim 20480, 2048 positions,
    # vocab 50272, tied LM head. Params 12,853,473,280 computed from that config (no published
    # exact total found; HF lists "13B"). KV/token 819,200 B = the paper's "800 KB" (Section 3).
    ModelPreset("opt-13b", 40, 40, 40, 128, 5120, 12_853_473_280, 2, 2048),
    # OPT-66B (vLLM paper Table 1: 4xA100, "parameter size 132 GB").
    # Config: https://huggingface.co/facebook/opt-66b/blob/main/config.json -- values read from
    # https://huggingface.co/mit-han-lab/opt-66b-smoothquant/blob/main/config.json (same shape):
    # 64 layers, 72 heads, hidden 9216, ffn_dim 36864, 2048 positions, vocab 50272.
    # Params 65,719,701,504 computed from that config (no published exact total found).
    ModelPreset("opt-66b", 64, 72, 72, 128, 9216, 65_719_701_504, 2, 2048),
    # Llama-2-7B. Config: https://huggingface.co/meta-llama/Llama-2-7b-hf/blob/main/config.json
    # (read from copies naming it as _name_or_path, e.g. https://huggingface.co/philschmid/Llama-2-7b-hf):
    # 32 layers, 32 heads, 32 KV heads, hidden 4096, intermediate 11008, 4096 positions, vocab 32000.
    # Params 6,738,415,616 (computed; matches published totals, e.g. the parameter count in the
    # Hugging Face metadata of TheBloke/Llama-2-7B-Chat-GGUF).
    ModelPreset("llama-2-7b", 32, 32, 32, 128, 4096, 6_738_415_616, 2, 4096),
    # Llama-2-13B. Config: https://huggingface.co/meta-llama/Llama-2-13b-hf/blob/main/config.json
    # (read from copies naming it as _name_or_path): 40 layers, 40 heads, 40 KV heads, hidden 5120,
    # intermediate 13824, 4096 positions, vocab 32000. Params 13,015,864,320 (computed; matches
    # published totals).
    ModelPreset("llama-2-13b", 40, 40, 40, 128, 5120, 13_015_864_320, 2, 4096),
    # Llama-2-70B (GQA). Config: https://huggingface.co/meta-llama/Llama-2-70b-hf/blob/main/config.json
    # (read from https://huggingface.co/TheBloke/Llama-2-70B-fp16 and other copies): 80 layers,
    # 64 heads, 8 KV heads, hidden 8192, intermediate 28672, 4096 positions, vocab 32000.
    # Params 68,976,648,192 (computed; matches published totals; checkpoint tensor counts that
    # include the 80 x 64 rotary inv_freq buffers read 68,976,653,312).
    ModelPreset("llama-2-70b", 80, 64, 8, 128, 8192, 68_976_648_192, 2, 4096),
    # Llama-3-8B (GQA). Config: https://huggingface.co/meta-llama/Meta-Llama-3-8B/blob/main/config.json
    # (read from https://huggingface.co/pandyamarut/Meta-Llama-3-8B, "_name_or_path":
    # "meta-llama/Meta-Llama-3-8B"): 32 layers, 32 heads, 8 KV heads, head_dim 128, hidden 4096,
    # intermediate 14336, 8192 positions, vocab 128256. (Llama-3.1-8B has 131072 positions; this
    # preset is 3.0.) Params 8,030,261,248 (computed; matches published totals).
    ModelPreset("llama-3-8b", 32, 32, 8, 128, 4096, 8_030_261_248, 2, 8192),
    # Mistral-7B-v0.1 (GQA, sliding window 4096, not modelled here).
    # Config: https://huggingface.co/mistralai/Mistral-7B-v0.1/blob/main/config.json (read from
    # copies naming it as _name_or_path): 32 layers, 32 heads, 8 KV heads, hidden 4096,
    # intermediate 14336, max_position_embeddings 32768, sliding_window 4096, vocab 32000.
    # Params 7,241,732,096 (computed; matches published totals, e.g. GGUF general.parameter_count).
    ModelPreset("mistral-7b", 32, 32, 8, 128, 4096, 7_241_732_096, 2, 32768),
)
MODELS: dict[str, ModelPreset] = {m.name: m for m in _MODEL_ROWS}


@dataclass(frozen=True)
class LengthPreset:
    """Prompt and output lengths as lognormals: arithmetic mean in tokens, sigma of the log."""

    name: str
    prompt_mean: float
    prompt_sigma: float
    output_mean: float
    output_sigma: float
    source: str


# Means: the legends of Figure 11 of the vLLM paper (Kwon et al., "Efficient Memory Management for
# Large Language Model Serving with PagedAttention", SOSP 2023, arXiv:2309.06180): ShareGPT input
# mean 161.31, output mean 337.99; Alpaca input mean 19.31, output mean 58.45 tokens (OPT tokenizer).
# Section 6.1: ShareGPT has "8.4x longer input prompts and 5.8x longer outputs on average than the
# Alpaca dataset, with higher variance" (161.31/19.31 = 8.35, 337.99/58.45 = 5.78).
#
# ShareGPT sigmas: FITTED to the vLLM authors' own per-request lengths, the SOSP'23 artifact
# (github.com/sosp-ae-39/sosp-ae-astra at 3180d2f8c2a2aa1729245f9b0cb75a854746e6a8,
# datasets/sharegpt_opt_text_completion_length.pkl: 84,226 first-round (prompt, output) pairs in
# OPT tokens). Kept with prompt + output <= 2048 (astra/benchmark/trace.py's filter), 79,731 pairs
# reproduce Figure 11's means exactly (161.31 / 337.99). Their spread, computed here: prompt std
# 299.6, median 35, SD of ln(length) 1.52; output std 283.9, median 271, SD of ln 1.14 (inflated by
# very short replies). Output sigma 0.73 = sqrt(ln(1 + (283.9 / 337.99)**2)) (the mean-and-std fit;
# its median, 259, is within 5% of 271). Prompt sigma 1.52, the maximum-likelihood fit: prompts are
# not lognormal (median 35 against mean 161, capped by the filter), and the mean-and-std fit (1.22)
# would put the median near 77.
#
# Alpaca sigmas: ASSUMED, NOT FITTED (1.0). The artifact's Alpaca lengths file is too large for the
# snapshot this was read from, and no published spread was found; replace them with a fit to
# datasets/alpaca_opt_text_completion.pkl of the same artifact.
#: Columns: name, prompt mean and sigma, output mean and sigma, source.
_LENGTH_ROWS: tuple[LengthPreset, ...] = (
    LengthPreset(
        "sharegpt",
        161.31,
        1.52,
        337.99,
        0.73,
        "Kwon et al., SOSP 2023, Fig. 11(a); sigmas fitted to the paper's artifact (sosp-ae-astra)",
    ),
    LengthPreset("alpaca", 19.31, 1.0, 58.45, 1.0, "Kwon et al., SOSP 2023, Fig. 11(b) and Sec. 6.1; sigmas assumed"),
)
LENGTHS: dict[str, LengthPreset] = {p.name: p for p in _LENGTH_ROWS}
