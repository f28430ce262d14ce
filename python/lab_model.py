#!/usr/bin/env python3
"""lab's transformer as a plain PyTorch module, and a loader for lab's model files.

    import lab_model
    model = lab_model.load("runs/.../RUN")        # or RUN/model.safetensors, or a checkpoint file
    logits = model(tokens)                         # tokens [B, T] int64 -> logits [B, T, V] float32

`LabModel(config)` rebuilds the model that `config` describes: the "model" object of a run's
config.json (or the whole config.json). It mirrors models/transformer.cpp and the files it uses
(attention, norm, dense_ffn, moe_layer, router, grouped_experts, model_config), and its parameter names
are LibTorch's named_parameters() of lab::TransformerImpl, so a lab state dict loads with
`load_state_dict(..., strict=True)`.

Files read by `load` (safetensors: an 8-byte little-endian header length, a JSON header
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}, the raw
little-endian bytes):
  - RUN/model.safetensors: __metadata__ {"format": "lab-model", "config": config.json as a string},
    tensors named as named_parameters();
  - RUN/checkpoints/step-N.safetensors (format "lab-checkpoint"): tensors "model.<name>", the config
    from RUN/config.json. A run directory without model.safetensors loads its newest checkpoint.

Only torch (1.13 or 2.x) and the standard library; the `safetensors` package is used when installed.
`python lab_model.py RUN_DIR | FILE` prints the model's sizes and parameter counts.
"""

import glob
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F
from torch import nn

EPS = 1e-5  # NormImpl::eps

# ModelConfig's defaults (models/model_config.h), for fields a hand-written config leaves out.
DEFAULTS = {
    "vocab_size": 64, "max_seq_len": 128, "d_model": 256, "layers": 4, "heads": 4, "d_ff": 0,
    "norm": "layer_norm", "positions": "rope", "activation": "gelu", "init_scale": 0.1,
    "ffn": "dense", "experts": 0, "top_k": 2, "expert_width": 0, "granularity": 0, "expansion": 0,
    "router": "token_choice", "capacity_factor": 1.0, "group_size": 0, "moe_output_norm": False,
}
CHOICES = {
    "norm": ("layer_norm", "rms_norm"), "positions": ("rope", "learned"),
    "activation": ("gelu", "swiglu"), "ffn": ("dense", "moe"),
    "router": ("token_choice", "expert_choice"),
}


def resolve_config(config):
    """config.json's "model" object (or the whole config.json) -> a dict of every field (ModelConfig's
    default for a missing one), where d_ff, experts, expert_width and top_k hold the resolved sizes:
    from its "resolved" object when present, else computed as ModelConfig::ffn_width, moe_experts,
    moe_expert_width and moe_top_k do. (So it is not a config to write back: top_k is the final k.)"""
    if "model" in config and "d_model" not in config:
        config = config["model"]
    c = dict(DEFAULTS)
    c.update({k: v for k, v in config.items() if k != "resolved"})
    if "ffn" not in config and (c["experts"] > 0 or c["granularity"] > 0):
        c["ffn"] = "moe"  # infer_ffn_kind
    for key, allowed in CHOICES.items():
        if c[key] not in allowed:
            raise ValueError(f"model config: {key} is '{c[key]}', expected one of {allowed}")
    g = c["granularity"]
    d_ff = c["d_ff"] if c["d_ff"] > 0 else c["d_model"]
    computed = {
        "d_ff": d_ff,
        "experts": c["expansion"] * g if g > 0 else c["experts"],
        "expert_width": c["expert_width"] or (d_ff // g if g > 0 else d_ff),
        "top_k": c["top_k"] * g if g > 0 else c["top_k"],
    }
    c.update(computed)
    c.update(config.get("resolved") or {})
    _validate(c)
    return c


def _validate(c):
    if c["d_model"] % c["heads"] != 0:
        raise ValueError(f"model config: heads ({c['heads']}) must divide d_model ({c['d_model']})")
    if c["positions"] == "rope" and (c["d_model"] // c["heads"]) % 2 != 0:
        raise ValueError("model config: rope positions need an even head size d_model / heads")
    if c["ffn"] == "moe" and not 0 < c["top_k"] <= c["experts"]:
        raise ValueError(f"model config: top_k ({c['top_k']}) must be in 1..experts ({c['experts']})")


# ---- layers ----


class Norm(nn.Module):
    """LayerNorm (weight, bias) or RMSNorm (weight), statistics in fp32 (models/norm.cpp)."""

    def __init__(self, kind, d):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.register_parameter("bias", nn.Parameter(torch.zeros(d)) if kind == "layer_norm" else None)

    def forward(self, x):  # [..., D] -> [..., D]
        xf = x.float()
        if self.bias is not None:
            y = F.layer_norm(xf, (xf.shape[-1],), self.weight.float(), self.bias.float(), EPS)
        else:
            y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + EPS) * self.weight.float()
        return y.to(x.dtype)


def apply_rope(x, offset=0):
    """Rotary embedding of x [B, H, T, Dh] at positions offset.., pairs (i, i + Dh/2) rotated by
    position * 10000^(-2i/Dh) (models/attention.cpp: rope_tables, apply_rope)."""
    t, dh = x.shape[2], x.shape[3]
    half = dh // 2
    inv_freq = torch.pow(10000.0, -torch.arange(half, dtype=torch.float32) * (2.0 / dh))  # [Dh/2]
    angle = torch.outer(torch.arange(offset, offset + t, dtype=torch.float32), inv_freq)  # [T, Dh/2]
    cos, sin = angle.cos().to(x.device, x.dtype), angle.sin().to(x.device, x.dtype)
    x1, x2 = x[..., :half], x[..., half:]  # [B, H, T, Dh/2] each
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], -1)


class CausalSelfAttention(nn.Module):
    def __init__(self, d, heads, rope):
        super().__init__()
        self.heads, self.head_dim, self.rope = heads, d // heads, rope
        self.qkv = nn.Linear(d, 3 * d, bias=False)  # [3D, D]
        self.proj = nn.Linear(d, d, bias=False)  # [D, D]

    def forward(self, x):  # [B, T, D] -> [B, T, D]
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        if self.rope:  # q, k, v: [B, H, T, Dh]
            q, k = apply_rope(q), apply_rope(k)
        scores = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))  # [B, H, T, T]
        future = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        scores = scores.float().masked_fill(future, float("-inf"))
        y = torch.matmul(torch.softmax(scores, -1).to(v.dtype), v)  # [B, H, T, Dh]
        return self.proj(y.transpose(1, 2).reshape(b, t, d))


def activation(pre, up):
    """GELU (exact, erf) of pre, or SwiGLU silu(pre) * up when up is given."""
    return F.gelu(pre) if up is None else F.silu(pre) * up


class DenseFfn(nn.Module):
    def __init__(self, d, width, swiglu):
        super().__init__()
        self.w1 = nn.Linear(d, width, bias=False)  # [W, D]
        self.w3 = nn.Linear(d, width, bias=False) if swiglu else None  # [W, D]
        self.w2 = nn.Linear(width, d, bias=False)  # [D, W]

    def forward(self, x):  # [..., D] -> [..., D]
        return self.w2(activation(self.w1(x), self.w3(x) if self.w3 is not None else None))


# ---- Mixture of Experts ----


def expert_capacity(c, group_tokens):
    """ModelConfig::expert_capacity: ceil(capacity_factor * top_k * group / experts) in [1, group]."""
    wanted = c["capacity_factor"] * c["top_k"] * group_tokens / c["experts"]
    return min(max(math.ceil(wanted), 1), group_tokens)


def top_k_experts(probs, k):
    """Each row's k largest probabilities and their experts [N, k], as lab's CPU top-k orders them:
    descending, equal values lower expert first, NaN last."""
    key = torch.where(torch.isnan(probs), torch.full_like(probs, float("-inf")), probs)
    idx = torch.sort(key, dim=-1, descending=True, stable=True).indices[:, :k]  # [N, k]
    return probs.gather(1, idx), idx


def route_token_choice(probs, k):
    """Every token takes its top k experts, weights renormalised to sum 1. -> (token_of_row [N*k],
    weight_of_row [N*k], rows_per_expert [E]): rows grouped by expert, in token order within one."""
    n, e = probs.shape
    top_w, top_e = top_k_experts(probs, k)  # [N, k]
    top_w = top_w / top_w.sum(-1, keepdim=True)
    flat = top_e.reshape(-1)  # [N*k], row r belongs to token r // k
    order = torch.sort(flat, stable=True).indices
    counts = torch.bincount(flat, minlength=e)  # [E]
    return torch.div(order, k, rounding_mode="floor"), top_w.reshape(-1)[order], counts


def route_expert_choice(probs, group, capacity, tail_capacity):
    """Per group of `group` tokens (and a shorter last group of N % group), every expert takes its
    `capacity` (`tail_capacity`) most probable tokens, weighted by that probability. -> as above."""
    n, e = probs.shape
    groups, tail = n // group, n % group
    by_expert = probs[: groups * group].view(groups, group, e).transpose(1, 2)  # [G, E, group]
    w, idx = by_expert.topk(capacity, -1)  # [G, E, C]
    start = torch.arange(groups, device=probs.device).view(groups, 1, 1) * group
    token = (idx + start).permute(1, 0, 2).reshape(e, -1)  # [E, G*C]
    weight = w.permute(1, 0, 2).reshape(e, -1)  # [E, G*C]
    if tail > 0:
        tail_w, tail_idx = probs[groups * group:].t().topk(tail_capacity, -1)  # [E, C_tail]
        token = torch.cat([token, tail_idx + groups * group], 1)
        weight = torch.cat([weight, tail_w], 1)
    counts = torch.full((e,), token.shape[1], dtype=torch.int64, device=probs.device)
    return token.reshape(-1), weight.reshape(-1), counts


def grouped_experts(x, w1, w2, w3, token_of_row, weight_of_row, counts):
    """y[t] = sum over the rows r of token t: weight[r] * act(x[t] W1[e]) W2[e], experts added in
    order (models/grouped_experts.cpp). x [N, D], w1 (w3) [E, D, W], w2 [E, W, D] -> y [N, D]."""
    acc = torch.float32 if x.element_size() < 4 else x.dtype  # 16-bit experts sum in fp32
    y = torch.zeros(x.shape, dtype=acc, device=x.device)  # [N, D]
    first = 0
    for e, n in enumerate(counts.tolist()):
        tokens = token_of_row[first:first + n]  # [n]
        xs = x.index_select(0, tokens)  # [n, D]
        h = activation(xs @ w1[e], xs @ w3[e] if w3 is not None else None)  # [n, W]
        hw = h * weight_of_row[first:first + n].to(h.dtype).unsqueeze(1)
        y.index_add_(0, tokens, (hw @ w2[e]).to(acc))
        first += n
    return y


class MoeLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        e, d, w = c["experts"], c["d_model"], c["expert_width"]
        self.router = nn.Parameter(torch.empty(e, d))  # [E, D], applied in fp32
        self.w1 = nn.Parameter(torch.empty(e, d, w))  # [E, D, W]
        self.w3 = nn.Parameter(torch.empty(e, d, w)) if c["activation"] == "swiglu" else None
        self.w2 = nn.Parameter(torch.empty(e, w, d))  # [E, W, D]
        self.output_norm = Norm(c["norm"], d) if c["moe_output_norm"] else None

    def route(self, x):
        """x [N, D] -> (token_of_row [R], weight_of_row [R] fp32, rows per expert [E], logits [N, E]).
        Expert choice routes the N tokens together, so a token's experts depend on the whole batch."""
        with torch.autocast(x.device.type, enabled=False):  # the router stays fp32 (NoAutocastGuard)
            logits = torch.mm(x.float(), self.router.float().t())  # [N, E]
        probs = torch.softmax(logits, -1)
        if self.c["router"] == "token_choice":
            return route_token_choice(probs, self.c["top_k"]) + (logits,)
        n = x.shape[0]
        group = min(self.c["group_size"], n) if self.c["group_size"] > 0 else n
        tail = n % group
        tail_capacity = expert_capacity(self.c, tail) if tail > 0 else 0
        return route_expert_choice(probs, group, expert_capacity(self.c, group), tail_capacity) + (logits,)

    def forward(self, x):  # [..., D] -> ([..., D], router statistics)
        tokens = x.reshape(-1, x.shape[-1])  # [N, D]: every token of the batch routes together
        token_of_row, weight_of_row, counts, logits = self.route(tokens)
        y = grouped_experts(tokens, self.w1, self.w2, self.w3, token_of_row, weight_of_row, counts)
        if self.output_norm is not None:
            y = self.output_norm(y)
        return y.view(x.shape), router_stats(logits, counts, self.c)


def router_stats(logits, counts, c):
    """The Routing statistics of models/router.h: tokens_per_expert [E], the unscaled Switch
    load-balancing loss (1 for expert choice), z-loss and mean routing entropy (nats)."""
    probs = torch.softmax(logits, -1)
    if c["router"] == "token_choice":
        f = counts.float() / (logits.shape[0] * c["top_k"])
        balance = (f * probs.mean(0)).sum() * logits.shape[1]
    else:
        balance = torch.ones((), device=logits.device)
    log_p = torch.log_softmax(logits, -1)
    return {"tokens_per_expert": counts, "load_balance_loss": balance,
            "z_loss": torch.logsumexp(logits, -1).pow(2).mean(),
            "router_entropy": -(log_p.exp() * log_p).sum(-1).mean().detach()}


# ---- the transformer ----


class Block(nn.Module):
    """Pre-norm: x += attn(norm1(x)); x += ffn(norm2(x))."""

    def __init__(self, c):
        super().__init__()
        self.norm1 = Norm(c["norm"], c["d_model"])
        self.attention = CausalSelfAttention(c["d_model"], c["heads"], c["positions"] == "rope")
        self.norm2 = Norm(c["norm"], c["d_model"])
        moe = c["ffn"] == "moe"  # exactly one of dense and moe is set
        self.dense = None if moe else DenseFfn(c["d_model"], c["d_ff"], c["activation"] == "swiglu")
        self.moe = MoeLayer(c) if moe else None

    def forward(self, x):  # [B, T, D] -> ([B, T, D], router statistics or None)
        h = x + self.attention(self.norm1(x))
        if self.dense is not None:
            return h + self.dense(self.norm2(h)), None
        y, stats = self.moe(self.norm2(h))
        return h + y, stats


class LabModel(nn.Module):
    """lab::TransformerImpl: token embedding (+ learned positions), pre-norm blocks, final norm, untied
    head. `config`: config.json's "model" object or the whole config.json; `self.config` holds every
    field with the MoE sizes resolved. Parameters start as lab initialises them (truncated normal,
    sigma = sqrt(init_scale / fan_in), cut at 2 sigma; norms 1 and 0)."""

    def __init__(self, config):
        super().__init__()
        c = self.config = resolve_config(config)
        self.token_embedding = nn.Embedding(c["vocab_size"], c["d_model"])  # [V, D]
        learned = c["positions"] == "learned"
        self.position_embedding = nn.Embedding(c["max_seq_len"], c["d_model"]) if learned else None
        self.blocks = nn.ModuleList([Block(c) for _ in range(c["layers"])])
        self.final_norm = Norm(c["norm"], c["d_model"])
        self.head = nn.Linear(c["d_model"], c["vocab_size"], bias=False)  # [V, D]
        self._initialise()

    def _initialise(self):
        with torch.no_grad():
            for name, p in self.named_parameters():
                if p.dim() < 2:
                    continue
                fan_in = (self.config["d_model"] if "embedding" in name
                          else p.shape[1] if "moe.w" in name else p.shape[-1])
                sigma = math.sqrt(self.config["init_scale"] / fan_in)
                nn.init.trunc_normal_(p, std=sigma, a=-2 * sigma, b=2 * sigma)

    def forward(self, tokens, return_router_stats=False):
        """tokens [B, T] int64, T <= max_seq_len -> logits [B, T, V]; with return_router_stats also a
        list with one dict per MoE layer (see router_stats)."""
        t = tokens.shape[1]
        if t > self.config["max_seq_len"]:
            raise ValueError(f"model: sequence of {t} tokens exceeds max_seq_len "
                             f"({self.config['max_seq_len']})")
        x = self.token_embedding(tokens)  # [B, T, D]
        if self.position_embedding is not None:
            x = x + self.position_embedding(torch.arange(t, device=tokens.device))
        stats = []
        for block in self.blocks:
            x, s = block(x)
            if s is not None:
                stats.append(s)
        logits = self.head(self.final_norm(x))  # [B, T, V]
        return (logits, stats) if return_router_stats else logits


# ---- files ----

_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
           "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
           "U8": torch.uint8, "BOOL": torch.bool, "U16": torch.int16}  # U16: read as I16, widened
_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
          "BOOL": 1, "U16": 2}


def _tensor_from_bytes(raw, dtype, shape):
    if math.prod(shape) == 0:
        return torch.empty(shape, dtype=torch.int32 if dtype == "U16" else _DTYPES[dtype])
    buffer = bytearray(raw)  # a writable, aligned copy
    if dtype == "U16":  # no torch.uint16 before torch 2.3
        return (torch.frombuffer(buffer, dtype=torch.int16).to(torch.int32) & 0xFFFF).reshape(shape)
    try:
        t = torch.frombuffer(buffer, dtype=_DTYPES[dtype])
    except (TypeError, RuntimeError):  # bf16 unsupported: its bits are a float32's upper half
        t = (torch.frombuffer(buffer, dtype=torch.int16).to(torch.int32) << 16).view(torch.float32)
    return t.reshape(shape)


def read_safetensors(path):
    """A safetensors file -> ({name: CPU tensor}, {metadata key: str}); ValueError naming the file if
    it is malformed. Uses the `safetensors` package when installed, else (or when the package fails,
    e.g. on U16 with torch < 2.3, or to word the error) this reader, which returns U16 as int32."""
    try:
        from safetensors import safe_open
        with safe_open(path, framework="pt") as f:
            return {name: f.get_tensor(name) for name in f.keys()}, dict(f.metadata() or {})
    except Exception:  # noqa: BLE001 (ImportError, or a file the package cannot read: ours says why)
        pass
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: {len(data)} bytes, too short for a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"{path}: header of {n} bytes runs past the end of the file ({len(data)} bytes)")
    try:
        header = json.loads(data[8:8 + n])
    except ValueError as e:
        raise ValueError(f"{path}: the header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: the header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    body = memoryview(data)[8 + n:]
    tensors = {}
    for name, info in header.items():
        try:
            dtype, shape, (begin, end) = info["dtype"], list(info["shape"]), info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{path}: tensor '{name}' needs dtype, shape and data_offsets") from None
        if dtype not in _DTYPES:
            raise ValueError(f"{path}: tensor '{name}' has the unknown dtype {dtype}")
        if not 0 <= begin <= end <= len(body) or end - begin != math.prod(shape) * _SIZES[dtype]:
            raise ValueError(f"{path}: tensor '{name}' ({dtype} {shape}) has bad data_offsets "
                             f"[{begin}, {end}] for {len(body)} bytes of data")
        tensors[name] = _tensor_from_bytes(body[begin:end], dtype, shape)
    return tensors, metadata


def _newest_checkpoint(run_dir):
    found = sorted(glob.glob(os.path.join(run_dir, "checkpoints", "step-*.safetensors")))
    if not found:
        raise ValueError(f"{run_dir}: has neither model.safetensors nor checkpoints/step-*.safetensors")
    return found[-1]


def load(path):
    """A lab model file (model.safetensors, its config in __metadata__), a run directory
    (RUN/model.safetensors, else its newest checkpoint) or a checkpoint file -> LabModel in eval mode,
    weights loaded strictly.
    ValueError naming the file when it is not a lab model or its weights do not fit its config."""
    path = os.fspath(path)
    if os.path.isdir(path):
        model_file = os.path.join(path, "model.safetensors")
        path = model_file if os.path.exists(model_file) else _newest_checkpoint(path)
    tensors, metadata = read_safetensors(path)
    if metadata.get("format_version", "1") != "1":  # what lab's own readers accept
        raise ValueError(f"{path}: format version {metadata['format_version']} is newer than this reader (1)")
    if metadata.get("format") == "lab-checkpoint":
        config_file = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(path))), "config.json")
        if not os.path.exists(config_file):
            raise ValueError(f"{path}: a lab checkpoint, but its run has no config.json ({config_file})")
        with open(config_file) as f:
            config = json.load(f)
        tensors = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    elif "config" in metadata:
        try:
            config = json.loads(metadata["config"])
        except ValueError as e:
            raise ValueError(f"{path}: __metadata__ \"config\" is not valid JSON ({e})") from None
    else:
        raise ValueError(f"{path}: no __metadata__ \"config\": not a lab model file "
                         f"(format {metadata.get('format', 'missing')!r})")
    try:
        model = LabModel(config)
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: its config describes no valid model: {e}") from None
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as e:
        raise ValueError(f"{path}: the weights do not fit the model its config describes: {e}") from None
    return model.eval()


def parameter_counts(model):
    """Counts as `lab model-info` (models/accounting.h): total, embedding (token + learned positions +
    head), experts, active (per token: the non-expert parameters and top_k experts; expert choice:
    capacity_factor * top_k rounded)."""
    c = model.config
    total = sum(p.numel() for p in model.parameters())
    named = list(model.named_parameters())
    embedding = sum(p.numel() for n, p in named if "embedding" in n or n.startswith("head."))
    experts = sum(p.numel() for n, p in named if ".moe.w" in n)
    active = total
    if c["ffn"] == "moe":
        per_token = c["top_k"] * (c["capacity_factor"] if c["router"] == "expert_choice" else 1)
        active = total - experts + math.floor(per_token + 0.5) * experts // c["experts"]  # llround
    return {"total": total, "embedding": embedding, "non_embedding": total - embedding,
            "experts": experts, "active": active}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python lab_model.py RUN_DIR | model.safetensors | checkpoint.safetensors")
    try:
        loaded = load(sys.argv[1])
    except (OSError, ValueError) as error:
        sys.exit(f"lab_model: {error}")
    cfg = loaded.config
    ffn = (f"experts {cfg['experts']} top_k {cfg['top_k']} width {cfg['expert_width']} {cfg['router']}"
           if cfg["ffn"] == "moe" else f"d_ff {cfg['d_ff']}")
    print(f"{cfg['ffn']}: d_model {cfg['d_model']} layers {cfg['layers']} heads {cfg['heads']} "
          f"vocab {cfg['vocab_size']} {ffn}, {cfg['norm']}, {cfg['positions']}, {cfg['activation']}")
    for key, value in parameter_counts(loaded).items():
        print(f"{key:>14}: {value:,}")
