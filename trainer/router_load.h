#pragma once
// The routers' load over training: what each MoE layer's router did over a metrics window, for
// metrics.jsonl and TensorBoard. Expert collapse (a few experts taking most tokens, others none) does
// not show in the loss; it shows here.
//
// A window's tally is a flat vector of doubles, per MoE layer [rows of expert 0 .. E-1, the routing
// entropy summed over the tokens routed, the tokens routed]: the counts stay exact over steps and
// workers (integers), and the checkpoint carries the open window's tally so a resumed run logs what an
// uninterrupted one would (bit for bit on the same workers; a checkpoint from before the tally starts
// its first window's router figures at the resume).

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/transformer.h"

namespace lab {

// The tally's length for a model: layers * (experts + 2) for an MoE, 0 for a dense model.
std::size_t router_tally_size(const ModelConfig& config);

// Adds one forward pass over `tokens` tokens to `tally` (of router_tally_size()).
void add_router_tally(std::vector<double>& tally, const TransformerOutput& out, std::int64_t tokens);

// The metrics.jsonl "router" array of a window's tally: per layer {"layer", "expert_share" (each
// expert's share of the rows, summing to 1), "imbalance" (max / mean rows), "idle_experts" (experts
// that got no row), "routing_entropy" (mean nats per token; log(E) is uniform)}. Empty for an empty tally.
nlohmann::json router_load_json(const std::vector<double>& tally, std::int64_t experts);

}  // namespace lab
