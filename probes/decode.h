#pragma once
// Batched greedy decoding: the model's answer to each prompt, one argmax token at a time, until
// <eos> or a token budget.
//
// Prompts of one batch must line up position by position (the model has no padding mask), so
// prompts are grouped by length and each group is decoded in batches: exact, with no padding token
// ever attended. With the KV cache (the default) every batch is prefilled once and then fed one
// token per step; without it every step recomputes the whole sequence (the reference the cache is
// tested and benchmarked against).

#include <cstdint>
#include <span>
#include <vector>

#include "models/transformer.h"
#include "tasks/vocabulary.h"

namespace lab {

// Router statistics accumulated over every token the model processed while decoding.
struct RouterTally {
  std::vector<std::vector<std::int64_t>> tokens_per_expert;  // [layer][expert]: rows routed
  std::vector<double> entropy_sum;                           // [layer]: sum of per-token routing entropy
  std::vector<std::int64_t> tokens;                          // [layer]: tokens routed

  void add(const TransformerOutput& out, std::int64_t tokens_in_call);
};

struct DecodeOptions {
  std::int64_t batch_size = 256;  // prompts decoded together
  bool use_cache = true;          // KV cache (prefill once, then one token per step)
};

// Greedy continuations of `prompts`, each at most `max_new_tokens` long (fewer if the model's
// max_seq_len leaves less room) and ending at its first <eos> if one was produced. The model runs
// in eval mode under NoGradGuard; `tally`, if given, accumulates the MoE routers' statistics.
std::vector<std::vector<Token>> greedy_decode(Transformer& model,
                                              std::span<const std::span<const Token>> prompts,
                                              std::int64_t max_new_tokens, const DecodeOptions& options,
                                              RouterTally* tally = nullptr);

}  // namespace lab
