// The trainer end to end, through the real `lab` binary as a user runs it: memorization and path
// learning, the fused and reference kernels, and the errors a user can cause. Resuming and
// checkpoints: resume_test.cpp.
#include <fstream>
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "models/model_config_json.h"
#include "models/transformer.h"
#include "tests/support/files.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trained_run.h"
#include "trainer/checkpoint.h"
#include "trainer/trainer.h"

namespace lab::test {
namespace {

namespace fs = std::filesystem;

// 64 small graphs (5-6 nodes) that a tiny model learns in a few hundred steps.
bool make_tiny_shortest_path(const fs::path& out) {
  return run_lab({"-q", "gen", "shortest-path", "--count", "64", "--test-count", "8", "--nodes-min", "5",
                  "--nodes-max", "6", "--node-tokens", "8", "--degree", "2", "--out", out.string()})
             .exit_code == 0;
}

// AdamW decays the matrices only: the roles are written out here (not matched by name as the trainer
// does), for a model with every kind of parameter (learned positions, LayerNorm biases, experts, MoE
// output norm).
TEST(Optimizer, DecaysTheMatricesAndNotNormsBiasesOrEmbeddings) {
  ModelConfig c;
  c.vocab_size = 16;
  c.max_seq_len = 8;
  c.d_model = 16;
  c.layers = 1;
  c.heads = 2;
  c.positions = PositionKind::learned;
  c.ffn = FfnKind::moe;
  c.experts = 4;
  c.moe_output_norm = true;
  Transformer model(c);
  TrainConfig t;
  t.weight_decay = 0.25;
  const auto optimizer = make_optimizer(model, t);
  const std::set<std::string> decayed = {"blocks.0.attention.qkv.weight",
                                         "blocks.0.attention.proj.weight",
                                         "blocks.0.moe.router",
                                         "blocks.0.moe.w1",
                                         "blocks.0.moe.w2",
                                         "head.weight"};
  const std::set<std::string> not_decayed = {"token_embedding.weight",
                                             "position_embedding.weight",
                                             "blocks.0.norm1.weight",
                                             "blocks.0.norm1.bias",
                                             "blocks.0.norm2.weight",
                                             "blocks.0.norm2.bias",
                                             "blocks.0.moe.output_norm.weight",
                                             "blocks.0.moe.output_norm.bias",
                                             "final_norm.weight",
                                             "final_norm.bias"};
  ASSERT_EQ(optimizer->param_groups().size(), 2u);
  std::map<const void*, std::size_t> group_of;
  for (std::size_t g = 0; g < 2; ++g)
    for (const torch::Tensor& p : optimizer->param_groups()[g].params()) group_of[p.data_ptr()] = g;
  const auto& options = [&](std::size_t g) {
    return static_cast<const torch::optim::AdamWOptions&>(optimizer->param_groups()[g].options());
  };
  EXPECT_EQ(options(0).weight_decay(), 0.25);
  EXPECT_EQ(options(1).weight_decay(), 0.0);
  std::size_t seen = 0;
  for (const auto& item : model->named_parameters()) {
    SCOPED_TRACE(item.key());
    ASSERT_TRUE(decayed.contains(item.key()) || not_decayed.contains(item.key()))
        << "a parameter this test does not know";
    ASSERT_TRUE(group_of.contains(item.value().data_ptr())) << "in no group";
    EXPECT_EQ(group_of.at(item.value().data_ptr()), decayed.contains(item.key()) ? 0u : 1u);
    ++seen;
  }
  EXPECT_EQ(seen, decayed.size() + not_decayed.size());
}

TEST(Train, DenseAndMoeMemorizeATinyPhoneBook) {
  TempDir dir;
  ASSERT_EQ(
      run_lab({"-q", "gen", "phonebook", "--entries", "64", "--out", (dir / "book").string()}).exit_code, 0);
  for (const std::vector<std::string>& ffn :
       {std::vector<std::string>{}, {"--experts", "4", "--top-k", "2"}}) {
    std::string out = (dir / ("run" + std::to_string(ffn.size()))).string();
    ProcessResult r = run_lab(
        concat(concat({"--threads", "1", "-q", "train", "--data", (dir / "book").string(), "--out", out,
                       "--steps", "400", "--batch-size", "32", "--lr", "3e-3", "--warmup", "0.05"},
                      kTinyModel),
               ffn));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // 10 digits of log(10) nats each at chance; memorized means near zero.
    EXPECT_LT(final_loss(out), 0.1) << (ffn.empty() ? "dense" : "moe");
  }
}

TEST(Train, ExpertChoiceWithRoutingGroupsTrainsAndProbesBatchesOfAnyTokenCount) {
  // Variable-length batches and decoding steps are rarely a whole number of routing groups: the last,
  // shorter group must be routed, not refused (it once stopped training at its first step).
  TempDir dir;
  ASSERT_EQ(
      run_lab({"-q", "gen", "phonebook", "--entries", "64", "--out", (dir / "book").string()}).exit_code, 0);
  const std::string out = (dir / "run").string();
  ProcessResult r = run_lab(concat({"--threads",
                                    "1",
                                    "-q",
                                    "train",
                                    "--data",
                                    (dir / "book").string(),
                                    "--out",
                                    out,
                                    "--steps",
                                    "20",
                                    "--batch-size",
                                    "24",
                                    "--probe-every",
                                    "10",
                                    "--probe-examples",
                                    "20",
                                    "--experts",
                                    "4",
                                    "--top-k",
                                    "1",
                                    "--router",
                                    "expert_choice",
                                    "--group-size",
                                    "50"},
                                   kTinyModel));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_lab({"--threads", "1", "-q", "probe", out, "--limit", "30"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(fs::path(out) / "probe.json"));
}

TEST(Train, LearnsATinyShortestPathSet) {
  TempDir dir;
  ASSERT_TRUE(make_tiny_shortest_path(dir / "sp"));
  std::string out = (dir / "run").string();
  ProcessResult r =
      run_lab(concat({"--threads", "1", "-q", "train", "--data", (dir / "sp").string(), "--out", out,
                      "--steps", "300", "--batch-size", "32", "--lr", "3e-3", "--warmup", "0.05"},
                     kTinyModel));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(final_loss(out), 0.1);
}

// `--kernels reference` runs the plain LibTorch composition end to end: the same training up to
// rounding (fp32 sums in another order), so the logged losses agree closely but not bit for bit.
TEST(Train, FusedAndReferenceKernelsTrainAlike) {
  TempDir dir;
  ASSERT_TRUE(make_tiny_shortest_path(dir / "sp"));
  std::vector<std::vector<double>> losses;
  for (const char* kind : {"fused", "reference"}) {
    const std::string out = (dir / kind).string();
    ProcessResult r = run_lab(concat({"--threads",
                                      "1",
                                      "--kernels",
                                      kind,
                                      "-q",
                                      "train",
                                      "--data",
                                      (dir / "sp").string(),
                                      "--out",
                                      out,
                                      "--steps",
                                      "40",
                                      "--batch-size",
                                      "16",
                                      "--lr",
                                      "3e-3",
                                      "--log-every",
                                      "10",
                                      "--checkpoint-every",
                                      "20"},
                                     kTinyModel));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    losses.push_back(logged_losses(out));
  }
  ASSERT_EQ(losses[0].size(), 4u);
  ASSERT_EQ(losses[1].size(), 4u);
  for (size_t i = 0; i < losses[0].size(); ++i)
    EXPECT_NEAR(losses[0][i], losses[1][i], 1e-4 * losses[1][i]) << i;
  EXPECT_NE(losses[0], losses[1])
      << "the two paths gave bit-identical losses: is --kernels reference ignored?";
  for (const char* kind : {"fused", "reference"}) {
    std::ifstream in(dir / kind / "config.json");
    EXPECT_EQ(nlohmann::json::parse(in).value("kernels", ""), kind);
  }

  // --resume continues with the kernels the run started with, whatever this command's: resuming a
  // reference run from its step-20 checkpoint without --kernels ends byte-identical to it.
  const fs::path part = dir / "part";
  fs::copy(dir / "reference", part, fs::copy_options::recursive);
  fs::remove(part / "checkpoints" / "step-00000040.safetensors");
  fs::remove(part / "checkpoints" / "step-00000040.json");
  ASSERT_TRUE(fs::exists(part / "checkpoints" / "step-00000020.safetensors")) << "no step-20 checkpoint";
  ProcessResult resumed = run_lab(
      {"--threads", "1", "-q", "train", "--data", (dir / "sp").string(), "--out", part.string(), "--resume"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(read_text(part / "checkpoints" / "step-00000040.safetensors"),
            read_text(dir / "reference" / "checkpoints" / "step-00000040.safetensors"));

  // A config.json naming unknown kernels is refused on --resume, naming the file.
  {
    std::ifstream in(part / "config.json");
    nlohmann::json config = nlohmann::json::parse(in);
    config["kernels"] = "fast";
    std::ofstream(part / "config.json") << config.dump(2);
  }
  fs::remove(part / "checkpoints" / "step-00000040.safetensors");
  fs::remove(part / "checkpoints" / "step-00000040.json");
  ProcessResult refused =
      run_lab({"-q", "train", "--data", (dir / "sp").string(), "--out", part.string(), "--resume"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("\"kernels\""), std::string::npos) << refused.err;

  ProcessResult bad = run_lab({"--kernels", "fast", "--version"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--kernels"), std::string::npos) << bad.err;
  EXPECT_NE(run_lab({"--kernels", "reference", "--version"}).out.find("kernels: reference"),
            std::string::npos);
}

TEST(Train, BadInputExitsTwoNamingIt) {
  TempDir dir;
  ASSERT_EQ(
      run_lab({"-q", "gen", "phonebook", "--entries", "100", "--out", (dir / "book").string()}).exit_code, 0);
  std::string book = (dir / "book").string();
  struct Case {
    std::vector<std::string> args;
    std::string mentions;
  };
  std::vector<Case> cases = {
      {{"train", "--data", (dir / "missing").string(), "--out", (dir / "r1").string()}, "missing"},
      {{"train", "--data", book, "--out", (dir / "r2").string(), "--vocab", "10"}, "--vocab"},
      {{"train", "--data", book, "--out", (dir / "r3").string(), "--max-seq-len", "5"}, "--max-seq-len"},
      {{"train", "--data", book, "--out", (dir / "r4").string(), "--heads", "3"}, "heads"},
      {{"train", "--data", book, "--out", (dir / "r5").string(), "--batch-size", "0"}, "--batch-size"},
      {{"train", "--data", book, "--out", (dir / "r7").string(), "--batch-size", "100000000000"},
       "larger than the 100 training examples"},
      {{"train", "--data", book, "--out", book}, "is not a run directory (it has no config.json)"},
      {{"train", "--data", book, "--out", book, "--resume", "auto"}, "is not a run directory"},
      {{"train", "--data", book, "--out", (dir / "r6").string(), "--resume"}, "config.json"},
      {{"train", "--data", book, "--out", (dir / "r8").string(), "--resume", "sometimes"},
       "--resume sometimes"},
  };
  for (const Case& c : cases) {
    ProcessResult r = run_lab(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.mentions << ": " << r.err;
    EXPECT_NE(r.err.find(c.mentions), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists(dir / "r7")) << "a refused batch size leaves no run directory";
}

TEST(Train, AModelTooLargeForMemoryIsRefusedBeforeAllocatingAndLeavesNothing) {
  TempDir dir;
  ASSERT_EQ(
      run_lab({"-q", "gen", "phonebook", "--entries", "100", "--out", (dir / "book").string()}).exit_code, 0);
  const std::string run = (dir / "run").string();
  ProcessResult r =
      run_lab({"train", "--data", (dir / "book").string(), "--out", run, "--d-model", "1000000"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  // 12 d^2 per layer (attention 4 d^2, FFN 8 d^2) x 2 layers, plus the embedding and head.
  EXPECT_NE(r.err.find("24000"), std::string::npos) << "the parameter count: " << r.err;
  EXPECT_NE(r.err.find("GiB"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(run)) << "the refused run left its directory behind";
  // The same --out then trains (nothing was left to refuse as "exists and is not empty").
  ProcessResult retry = run_lab({"-q", "--threads", "1", "train", "--data", (dir / "book").string(), "--out",
                                 run, "--steps", "2", "--d-model", "16", "--layers", "1", "--heads", "1"});
  EXPECT_EQ(retry.exit_code, 0) << retry.err;
}

TEST(Train, ANonFiniteLossStopsTrainingAndSaysAtWhichStep) {
  TempDir dir;
  ASSERT_EQ(
      run_lab({"-q", "gen", "phonebook", "--entries", "64", "--out", (dir / "book").string()}).exit_code, 0);
  ProcessResult r = run_lab(concat({"--threads", "1", "-q", "train", "--data", (dir / "book").string(),
                                    "--out", (dir / "run").string(), "--steps", "200", "--lr", "1e12",
                                    "--grad-clip", "0", "--schedule", "constant", "--checkpoint-every", "1"},
                                   kTinyModel));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("at step"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace lab::test
