#include "probes/decode.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "core/error.h"

namespace lab {

void RouterTally::add(const TransformerOutput& out, std::int64_t tokens_in_call) {
  const std::size_t layers = out.tokens_per_expert.size();
  if (tokens_per_expert.empty()) {
    tokens_per_expert.resize(layers);
    entropy_sum.assign(layers, 0.0);
    tokens.assign(layers, 0);
  }
  for (std::size_t l = 0; l < layers; ++l) {
    torch::Tensor counts = out.tokens_per_expert[l].to(torch::kCPU, torch::kInt64).contiguous();
    auto& sums = tokens_per_expert[l];
    sums.resize(counts.numel(), 0);
    for (std::int64_t e = 0; e < counts.numel(); ++e) sums[e] += counts.data_ptr<std::int64_t>()[e];
    entropy_sum[l] += out.router_entropy[l].item<double>() * static_cast<double>(tokens_in_call);
    tokens[l] += tokens_in_call;
  }
}

namespace {

// Decodes prompts of equal length P, all at once: tokens [B, P] -> up to `budget` new tokens each.
std::vector<std::vector<Token>> decode_batch(Transformer& model, const torch::Tensor& prompts,
                                             std::int64_t budget, bool use_cache, RouterTally* tally) {
  const std::int64_t b = prompts.size(0);
  std::vector<std::vector<Token>> answers(b);
  std::vector<bool> done(b, false);
  std::int64_t remaining = b;

  std::vector<KVCache> cache;
  torch::Tensor sequence = prompts;  // without a cache: everything fed so far
  torch::Tensor input = prompts;     // what the next forward pass reads
  for (std::int64_t step = 0; step < budget && remaining > 0; ++step) {
    TransformerOutput out = model->forward(input, use_cache ? &cache : nullptr);
    if (tally) tally->add(out, input.numel());
    torch::Tensor next = out.logits.select(1, out.logits.size(1) - 1).argmax(-1);  // [B]
    torch::Tensor next_cpu = next.to(torch::kCPU, torch::kInt64).contiguous();
    const std::int64_t* ids = next_cpu.data_ptr<std::int64_t>();
    for (std::int64_t i = 0; i < b; ++i) {
      if (done[i]) continue;
      answers[i].push_back(static_cast<Token>(ids[i]));
      if (ids[i] == special::eos) {
        done[i] = true;
        --remaining;
      }
    }
    input = next.view({b, 1});
    if (!use_cache) {
      sequence = torch::cat({sequence, input}, 1);
      input = sequence;
    }
  }
  return answers;
}

}  // namespace

std::vector<std::vector<Token>> greedy_decode(Transformer& model,
                                              std::span<const std::span<const Token>> prompts,
                                              std::int64_t max_new_tokens, const DecodeOptions& options,
                                              RouterTally* tally) {
  if (options.batch_size <= 0) fail("decode: batch size must be positive (got {})", options.batch_size);
  const std::int64_t max_len = model->config().max_seq_len;
  const torch::Device device = model->parameters().front().device();
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();

  // Equal-length prompts decode together; within a length, in input order (deterministic).
  std::map<std::size_t, std::vector<std::size_t>> by_length;
  for (std::size_t i = 0; i < prompts.size(); ++i) by_length[prompts[i].size()].push_back(i);

  std::vector<std::vector<Token>> answers(prompts.size());
  for (const auto& [length, members] : by_length) {
    const auto p = static_cast<std::int64_t>(length);
    if (p == 0 || p > max_len) {
      fail("decode: a prompt of {} tokens does not fit the model (max_seq_len {})", p, max_len);
    }
    // The model reads at most max_len tokens: the prompt and all generated tokens but the last.
    const std::int64_t budget = std::min(max_new_tokens, max_len - p + 1);
    for (std::size_t start = 0; start < members.size(); start += options.batch_size) {
      const std::size_t end = std::min(members.size(), start + static_cast<std::size_t>(options.batch_size));
      torch::Tensor batch = torch::empty({static_cast<std::int64_t>(end - start), p}, torch::kInt64);
      auto rows = batch.accessor<std::int64_t, 2>();
      for (std::size_t r = start; r < end; ++r) {
        const auto prompt = prompts[members[r]];
        for (std::int64_t t = 0; t < p; ++t) rows[static_cast<std::int64_t>(r - start)][t] = prompt[t];
      }
      auto decoded = decode_batch(model, batch.to(device), budget, options.use_cache, tally);
      for (std::size_t r = start; r < end; ++r) answers[members[r]] = std::move(decoded[r - start]);
    }
  }
  if (was_training) model->train();
  return answers;
}

}  // namespace lab
