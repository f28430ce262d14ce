// Model files (trainer/model_file.h): written and read back by lab, and run by real PyTorch through
// python/lab_model.py, whose logits must match lab's on the same tokens.
#include "trainer/model_file.h"

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <torch/torch.h>

#include "core/error.h"
#include "core/safetensors.h"
#include "models/model_config_json.h"
#include "models/transformer.h"
#include "tests/support/files.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "trainer/tensor_file.h"

namespace lab::model_file_test {
namespace fs = std::filesystem;

ModelConfig small(std::int64_t d_model = 16) {
  ModelConfig c;
  c.vocab_size = 23;
  c.max_seq_len = 24;
  c.d_model = d_model;
  c.layers = 2;
  c.heads = 2;
  return c;
}

ModelConfig moe(ModelConfig c, std::int64_t experts, std::int64_t top_k) {
  c.ffn = FfnKind::moe;
  c.experts = experts;
  c.top_k = top_k;
  return c;
}

nlohmann::json run_config_of(const ModelConfig& c) { return {{"model", model_config_to_json(c)}}; }

TEST(ModelFile, RoundTripsEveryTensorAndTheConfigAndIsDeterministic) {
  test::TempDir dir;
  ModelConfig c = moe(small(), 4, 2);
  c.activation = ActivationKind::swiglu;
  c.moe_output_norm = true;
  torch::manual_seed(3);
  Transformer model(c);
  write_model_file(dir / "a.safetensors", *model, run_config_of(c));
  write_model_file(dir / "b.safetensors", *model, run_config_of(c));
  EXPECT_EQ(test::read_text(dir / "a.safetensors"), test::read_text(dir / "b.safetensors"));

  ModelFile loaded = load_model_file(dir / "a.safetensors");
  EXPECT_EQ(loaded.run_config, run_config_of(c));
  EXPECT_EQ(loaded.model->config(), c);
  auto expected = model->named_parameters();
  auto actual = loaded.model->named_parameters();
  ASSERT_EQ(expected.size(), actual.size());
  for (const auto& item : expected) {
    ASSERT_NE(actual.find(item.key()), nullptr) << item.key();
    EXPECT_TRUE(torch::equal(*actual.find(item.key()), item.value())) << item.key();
  }
  // The names are LibTorch's, unprefixed, as PyTorch's state_dict() would name them.
  const std::string bytes = test::read_text(dir / "a.safetensors");
  const SafetensorsFile file = parse_safetensors(bytes, "a");
  EXPECT_NE(file.find("blocks.1.moe.w3"), nullptr);
  EXPECT_NE(file.find("blocks.0.attention.qkv.weight"), nullptr);
  EXPECT_EQ(file.metadata.at("format"), "lab-model");
}

TEST(ModelFile, DamagedOrForeignFilesAreRefusedNamingTheFile) {
  test::TempDir dir;
  const ModelConfig c = small();
  Transformer model(c);
  write_model_file(dir / "m.safetensors", *model, run_config_of(c));
  const std::string bytes = test::read_text(dir / "m.safetensors");
  auto message_of = [&](const std::string& name, const std::string& content) {
    test::write_text(dir / name, content);
    try {
      load_model_file(dir / name);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  std::string m = message_of("cut.safetensors", bytes.substr(0, bytes.size() - 7));
  EXPECT_NE(m.find("cut.safetensors"), std::string::npos) << m;

  SafetensorsWriter other;  // a valid safetensors file that is not a model file
  const float x = 1;
  other.add("x", "F32", {1}, &x, 4);
  m = message_of("other.safetensors", other.serialize());
  EXPECT_NE(m.find("not a lab model file"), std::string::npos) << m;

  // The weights of one model under the config of a wider one.
  Transformer wide(small(32));
  SafetensorsWriter mixed;
  mixed.set_metadata("format", "lab-model");
  mixed.set_metadata("format_version", "1");
  mixed.set_metadata("config", run_config_of(small(32)).dump());
  add_module_tensors(mixed, *model, "");
  m = message_of("mixed.safetensors", mixed.serialize());
  EXPECT_NE(m.find("mixed.safetensors: tensor 'token_embedding.weight' has shape [23, 16]"),
            std::string::npos)
      << m;
  m = message_of("missing.safetensors", "");
  EXPECT_NE(m.find("missing.safetensors"), std::string::npos) << m;
  EXPECT_THROW(load_model_file(dir / "absent.safetensors"), Error);
}

// Every kind of model lab builds, run by PyTorch from its model file: the same logits up to fp32
// rounding (the summation orders differ: fused attention, grouped experts).
TEST(ModelFile, PyTorchComputesTheSameLogitsFromTheFile) {
  test::TempDir dir;
  std::vector<std::pair<std::string, ModelConfig>> grid;
  grid.emplace_back("dense-gelu-rope-layernorm", small());
  {
    ModelConfig c = small(24);
    c.heads = 3;
    c.activation = ActivationKind::swiglu;
    c.norm = NormKind::rms_norm;
    c.positions = PositionKind::learned;
    c.d_ff = 40;
    grid.emplace_back("dense-swiglu-learned-rmsnorm", c);
  }
  grid.emplace_back("moe-token-choice", moe(small(), 4, 2));
  {
    ModelConfig c = moe(small(), 8, 1);
    c.activation = ActivationKind::swiglu;
    c.norm = NormKind::rms_norm;
    c.moe_output_norm = true;
    grid.emplace_back("moe-swiglu-output-norm", c);
  }
  {
    ModelConfig c = moe(small(), 4, 2);
    c.router = RouterKind::expert_choice;
    c.capacity_factor = 1.5;
    c.group_size = 16;  // 3 x 11 tokens: two groups of 16 and a last one of 1
    grid.emplace_back("moe-expert-choice-groups", c);
  }
  {
    ModelConfig c = small(32);
    c.ffn = FfnKind::moe;
    c.granularity = 4;
    c.expansion = 2;
    c.top_k = 1;
    c.positions = PositionKind::learned;
    grid.emplace_back("fine-grained-g4", c);
  }
  std::vector<std::string> args = {std::string(LAB_SOURCE_DIR) + "/python/tests/check_model.py"};
  for (const auto& [name, config] : grid) {
    const fs::path case_dir = dir / name;
    fs::create_directories(case_dir);
    torch::manual_seed(11);
    Transformer model(config);
    model->eval();
    torch::Tensor tokens = torch::randint(config.vocab_size, {3, 11}, torch::kLong);
    torch::Tensor logits;
    {
      torch::NoGradGuard no_grad;
      logits = model->forward(tokens).logits.to(torch::kFloat32);
    }
    write_model_file(case_dir / "model.safetensors", *model, run_config_of(config));
    SafetensorsWriter check;
    add_tensor(check, "tokens", tokens);
    add_tensor(check, "logits", logits);
    test::write_text(case_dir / "check.safetensors", check.serialize());
    args.push_back(case_dir.string());
  }
  const test::ProcessResult r = test::run_process(LAB_PYTHON, args);
  EXPECT_EQ(r.exit_code, 0) << "python/tests/check_model.py with " << LAB_PYTHON
                            << " (it needs torch: `bash scripts/setup.sh` installs python3-torch)\n"
                            << r.out << r.err;
  for (const auto& [name, config] : grid) EXPECT_NE(r.out.find(name), std::string::npos) << r.out;
}

}  // namespace lab::model_file_test
