#include "models/transformer.h"

#include <cmath>

#include "core/error.h"
#include "models/parallel_linear.h"

namespace lab {

BlockImpl::BlockImpl(const ModelConfig& config) {
  norm1 = register_module("norm1", Norm(config.norm, config.d_model));
  attention = register_module("attention", CausalSelfAttention(config));
  norm2 = register_module("norm2", Norm(config.norm, config.d_model));
  if (config.is_moe()) {
    moe = register_module("moe", MoeLayer(config));
  } else {
    dense = register_module("dense", DenseFfn(config.d_model, config.ffn_width(), config.activation));
  }
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, KVCache* cache, MoeOutput* moe_out) {
  torch::Tensor h = x + attention(norm1(x), cache);  // [B, T, D]
  if (dense) return h + dense(norm2(h));
  MoeOutput out = moe(norm2(h));
  torch::Tensor y = h + out.y;
  if (moe_out) *moe_out = std::move(out);
  return y;
}

void truncated_normal_(torch::Tensor& weight, double sigma) {
  torch::NoGradGuard no_grad;
  // Inverse-CDF sampling: uniform in [Phi(-2), Phi(2)] mapped through the normal quantile.
  const double lo = 0.5 * (1.0 + std::erf(-2.0 / std::sqrt(2.0)));
  const double hi = 0.5 * (1.0 + std::erf(2.0 / std::sqrt(2.0)));
  weight.uniform_(2.0 * lo - 1.0, 2.0 * hi - 1.0)
      .erfinv_()
      .mul_(sigma * std::sqrt(2.0))
      .clamp_(-2.0 * sigma, 2.0 * sigma);
}

TransformerImpl::TransformerImpl(const ModelConfig& config, torch::Device device) : config_(config) {
  config_.validate();
  const std::int64_t d = config_.d_model;
  token_embedding = register_module("token_embedding", torch::nn::Embedding(config_.vocab_size, d));
  if (config_.positions == PositionKind::learned) {
    position_embedding = register_module("position_embedding", torch::nn::Embedding(config_.max_seq_len, d));
  }
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < config_.layers; ++i) blocks->push_back(Block(config_));
  final_norm = register_module("final_norm", Norm(config_.norm, d));
  head =
      register_module("head", torch::nn::Linear(torch::nn::LinearOptions(d, config_.vocab_size).bias(false)));

  // Truncated normal, sigma = sqrt(init_scale / fan_in). Linear weights [out, in] and expert weights
  // [E, in, out] take fan_in from their input side; embeddings from d_model.
  for (auto& item : named_parameters()) {
    const std::string& name = item.key();
    torch::Tensor& p = item.value();
    if (p.dim() < 2) continue;  // norm weights and biases keep 1 and 0
    const bool expert = name.find("moe.w") != std::string::npos;
    const std::int64_t fan_in =
        name.find("embedding") != std::string::npos ? d : (expert ? p.size(1) : p.size(-1));
    truncated_normal_(p, std::sqrt(config_.init_scale / static_cast<double>(fan_in)));
  }
  to(device);
}

TransformerOutput TransformerImpl::forward(const torch::Tensor& tokens, std::vector<KVCache>* cache) {
  const std::int64_t t = tokens.size(1);
  const std::int64_t past = (cache && !cache->empty()) ? (*cache)[0].length() : 0;
  if (past + t > config_.max_seq_len) {
    fail("model: sequence of {} tokens exceeds max_seq_len ({})", past + t, config_.max_seq_len);
  }
  if (cache) cache->resize(config_.layers);
  torch::Tensor x = token_embedding(tokens);  // [B, T, D]
  if (position_embedding) {
    x = x + position_embedding(torch::arange(past, past + t, tokens.options().dtype(torch::kInt64)));
  }
  TransformerOutput out;
  const auto f32 = x.options().dtype(torch::kFloat32);
  out.load_balance_loss = torch::zeros({}, f32);
  out.z_loss = torch::zeros({}, f32);
  for (std::int64_t i = 0; i < config_.layers; ++i) {
    MoeOutput moe;
    x = blocks[i]->as<BlockImpl>()->forward(x, cache ? &(*cache)[i] : nullptr, &moe);
    if (moe.load_balance_loss.defined()) {
      out.load_balance_loss = out.load_balance_loss + moe.load_balance_loss;
      out.z_loss = out.z_loss + moe.z_loss;
      out.tokens_per_expert.push_back(moe.tokens_per_expert);
      out.router_entropy.push_back(moe.router_entropy);
    }
  }
  out.logits = linear_projection(final_norm(x), head->weight);  // [B, T, V]
  out.aux_loss = out.load_balance_loss * config_.load_balance_coef + out.z_loss * config_.z_loss_coef;
  if (!config_.is_moe()) out.aux_loss = out.aux_loss.detach();
  return out;
}

}  // namespace lab
