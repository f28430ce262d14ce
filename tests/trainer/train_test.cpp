// The trainer end to end, through the real `lab` binary as a user runs it: memorization and path
// learning, exact resume after kill -9, and the errors a user can cause.
#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "models/model_config_json.h"
#include "models/transformer.h"
#include "tests/support/files.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trained_run.h"
#include "trainer/checkpoint.h"
#include "trainer/model_file.h"
#include "trainer/trainer.h"

extern char** environ;

namespace lab::test {
namespace {

namespace fs = std::filesystem;

// The last "loss" logged in a run's metrics.jsonl.
double final_loss(const fs::path& run) {
  std::ifstream in(run / "metrics.jsonl");
  std::string line;
  double loss = -1;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) loss = j.at("loss").get<double>();
  }
  return loss;
}

bool same_weights(Transformer& a, Transformer& b) {
  auto pa = a->named_parameters(), pb = b->named_parameters();
  if (pa.size() != pb.size()) return false;
  for (const auto& item : pa) {
    if (!torch::equal(item.value(), pb[item.key()])) return false;
  }
  return true;
}

// 64 small graphs (5-6 nodes) that a tiny model learns in a few hundred steps.
bool make_tiny_shortest_path(const fs::path& out) {
  return run_lab({"-q", "gen", "shortest-path", "--count", "64", "--test-count", "8", "--nodes-min", "5",
                  "--nodes-max", "6", "--node-tokens", "8", "--degree", "2", "--out", out.string()})
             .exit_code == 0;
}

const std::vector<std::string> kTinyModel = {"--d-model", "64", "--layers", "2", "--heads", "2"};

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
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
    ProcessResult r =
        run_lab(with(with({"--threads", "1", "-q", "train", "--data", (dir / "book").string(), "--out", out,
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
  ProcessResult r = run_lab(with({"--threads",
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
      run_lab(with({"--threads", "1", "-q", "train", "--data", (dir / "sp").string(), "--out", out, "--steps",
                    "300", "--batch-size", "32", "--lr", "3e-3", "--warmup", "0.05"},
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
    ProcessResult r = run_lab(with({"--threads",
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

TEST(Train, ResumeAfterKillNineIsBitIdenticalToAnUninterruptedRun) {
  TempDir dir;
  ASSERT_EQ(
      run_lab({"-q", "gen", "phonebook", "--entries", "256", "--out", (dir / "book").string()}).exit_code, 0);
  auto args = [&](const std::string& out) {
    return with(
        {"--threads", "1", "-q", "train", "--data", (dir / "book").string(), "--out", out, "--steps", "120",
         "--batch-size", "16", "--checkpoint-every", "3", "--log-every", "7", "--experts", "4"},
        kTinyModel);
  };
  ASSERT_EQ(run_lab(args((dir / "straight").string())).exit_code, 0);

  // Start the same run, kill -9 it once a few checkpoints exist (likely mid-write of another), resume.
  std::string killed = (dir / "killed").string();
  std::vector<std::string> argv_strings = args(killed);
  std::vector<char*> argv = {const_cast<char*>(LAB_BINARY)};
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, LAB_BINARY, nullptr, nullptr, argv.data(), environ), 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    auto latest = latest_checkpoint(killed);
    if (latest && latest->filename().string() >= "step-00000030.safetensors") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before it could be killed";

  ProcessResult resumed = run_lab(
      {"--threads", "1", "-q", "train", "--data", (dir / "book").string(), "--out", killed, "--resume"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  Transformer a = load_run(dir / "straight");
  Transformer b = load_run(killed);
  EXPECT_TRUE(same_weights(a, b));
  EXPECT_EQ(final_loss(dir / "straight"), final_loss(killed));
  // Every logged window is the same, the one open at the kill too (its sums are in the checkpoint):
  // with a line every 7 steps and a checkpoint every 3, the checkpoints from step 30 to 41 the kill
  // can meet all fall inside a window.
  auto training_lines = [](const fs::path& run) {
    std::vector<nlohmann::json> lines;
    std::ifstream in(run / "metrics.jsonl");
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line);
      if (j.contains("loss")) {  // the router figures too: their window's tally rides in the checkpoint
        EXPECT_TRUE(j.contains("router")) << line;
        lines.push_back({j.at("step"), j.at("loss"), j.at("aux_loss"), j.at("tokens"),
                         j.contains("router") ? j.at("router") : nlohmann::json()});
      }
    }
    return lines;
  };
  EXPECT_EQ(training_lines(dir / "straight"), training_lines(killed));
  // The checkpoint files themselves are byte-identical (what varies, wall-clock seconds, lives in the
  // .json record beside each), so `cmp` checks a reproduction.
  for (const char* name : {"step-00000117.safetensors", "step-00000120.safetensors"}) {
    const fs::path a_file = dir / "straight" / "checkpoints" / name,
                   b_file = fs::path(killed) / "checkpoints" / name;
    ASSERT_TRUE(fs::exists(a_file) && fs::exists(b_file)) << name;
    EXPECT_EQ(read_text(a_file), read_text(b_file)) << name;
  }
}

TEST(Train, TwoIdenticalRunsWriteByteIdenticalCheckpoints) {
  TempDir dir;
  ASSERT_EQ(
      run_lab({"-q", "gen", "phonebook", "--entries", "64", "--out", (dir / "book").string()}).exit_code, 0);
  for (const char* out : {"a", "b"}) {
    ASSERT_EQ(run_lab(with({"--threads", "1", "-q", "train", "--data", (dir / "book").string(), "--out",
                            (dir / out).string(), "--steps", "6", "--batch-size", "16", "--checkpoint-every",
                            "3", "--experts", "4"},
                           kTinyModel))
                  .exit_code,
              0);
  }
  for (const char* name : {"step-00000003.safetensors", "step-00000006.safetensors"}) {
    const std::string a = read_text(dir / "a" / "checkpoints" / name);
    EXPECT_FALSE(a.empty()) << name;
    EXPECT_EQ(a, read_text(dir / "b" / "checkpoints" / name)) << name;
  }
  // The record beside each holds the checksum and the seconds that differ.
  auto record = nlohmann::json::parse(read_text(dir / "a" / "checkpoints" / "step-00000006.json"));
  EXPECT_TRUE(record.contains("crc32c"));
  EXPECT_TRUE(record.contains("seconds"));
}

TEST(Train, ResumingAFinishedRunSaysSoAndChangesNothing) {
  TempDir dir;
  ASSERT_EQ(
      run_lab({"-q", "gen", "phonebook", "--entries", "32", "--out", (dir / "book").string()}).exit_code, 0);
  const std::string run = (dir / "run").string();
  ASSERT_EQ(run_lab(with({"--threads", "1", "-q", "train", "--data", (dir / "book").string(), "--out", run,
                          "--steps", "8", "--batch-size", "8"},
                         kTinyModel))
                .exit_code,
            0);
  auto read = [](const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string metrics = read(dir / "run" / "metrics.jsonl");
  const auto checkpoint = latest_checkpoint(dir / "run");
  ASSERT_TRUE(checkpoint.has_value());
  const std::string weights = read(*checkpoint);
  // What a kill -9 during a checkpoint write leaves (PID 999999999 is above any PID Linux hands out).
  const fs::path stale = dir / "run" / "checkpoints" / "step-00000009.safetensors.tmp-999999999";
  std::ofstream(stale) << "torn";
  ProcessResult r =
      run_lab({"--threads", "1", "train", "--data", (dir / "book").string(), "--out", run, "--resume"});
  EXPECT_FALSE(fs::exists(stale)) << "a dead writer's temporary file is removed by the next run";
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("already finished at step 8"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("loss 0.0000"), std::string::npos) << r.out;
  EXPECT_EQ(read(dir / "run" / "metrics.jsonl"), metrics) << "no duplicate final line";
  EXPECT_EQ(latest_checkpoint(dir / "run"), checkpoint);
  EXPECT_EQ(read(*checkpoint), weights);
}

// One command line for a job that may be restarted (torchrun --max-restarts, Slurm --requeue): the
// first start trains, a repeat finds the run finished; the final model file holds the last weights.
TEST(Train, ResumeAutoStartsARunThenContinuesItAndTheModelFileHoldsTheFinalWeights) {
  TempDir dir;
  ASSERT_EQ(
      run_lab({"-q", "gen", "phonebook", "--entries", "32", "--out", (dir / "book").string()}).exit_code, 0);
  const std::string run = (dir / "run").string();
  const std::vector<std::string> command =
      with({"--threads", "1", "train", "--data", (dir / "book").string(), "--out", run, "--steps", "6",
            "--batch-size", "8", "--resume", "auto"},
           kTinyModel);
  ProcessResult first = run_lab(command);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("trained 6 steps"), std::string::npos) << first.out;
  ModelFile model_file = load_model_file(dir / "run" / "model.safetensors");
  Transformer final_weights = load_run(dir / "run");
  for (const auto& item : final_weights->named_parameters()) {
    EXPECT_TRUE(torch::equal(*model_file.model->named_parameters().find(item.key()), item.value()))
        << item.key();
  }
  const nlohmann::json config = nlohmann::json::parse(std::ifstream(dir / "run" / "config.json"));
  EXPECT_EQ(model_file.run_config, config);
  // How the run was started, for the record.
  const nlohmann::json& environment = config.at("environment");
  const auto argv = environment.at("argv").get<std::vector<std::string>>();
  EXPECT_EQ(argv, with({LAB_BINARY}, command)) << environment;
  EXPECT_FALSE(environment.at("host").get<std::string>().empty());
  EXPECT_FALSE(environment.at("libtorch").get<std::string>().empty());
  EXPECT_FALSE(environment.at("blas").get<std::string>().empty())
      << environment;  // OpenBLAS, or MKL in torch2
  EXPECT_TRUE(environment.at("source_dirty").is_boolean());

  fs::remove(dir / "run" / "model.safetensors");  // a run finished before model files existed
  ProcessResult again = run_lab(command);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("already finished at step 6"), std::string::npos) << again.out;
  EXPECT_TRUE(fs::exists(dir / "run" / "model.safetensors")) << "written for the finished run";
}

TEST(Train, ACorruptCheckpointIsRefusedNamingItAndThePreviousOne) {
  TempDir dir;
  ASSERT_EQ(
      run_lab({"-q", "gen", "phonebook", "--entries", "32", "--out", (dir / "book").string()}).exit_code, 0);
  const std::string run = (dir / "run").string();
  ASSERT_EQ(run_lab(with({"--threads", "1", "-q", "train", "--data", (dir / "book").string(), "--out", run,
                          "--steps", "8", "--batch-size", "8", "--checkpoint-every", "4"},
                         kTinyModel))
                .exit_code,
            0);
  const fs::path newest = dir / "run" / "checkpoints" / "step-00000008.safetensors";
  ASSERT_TRUE(fs::exists(newest));
  ASSERT_TRUE(fs::exists(dir / "run" / "checkpoints" / "step-00000008.json"));
  {  // one byte in the middle, as a bad disk or a bad copy would
    std::fstream f(newest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(fs::file_size(newest) / 2));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(fs::file_size(newest) / 2));
    f.put(static_cast<char>(c ^ 0x5a));
  }
  ProcessResult probe = run_lab({"--threads", "1", "probe", run});
  EXPECT_EQ(probe.exit_code, 2) << probe.err;
  EXPECT_NE(probe.err.find("step-00000008.safetensors: checksum"), std::string::npos) << probe.err;
  EXPECT_NE(probe.err.find("step-00000004.safetensors"), std::string::npos)
      << "offers the previous one: " << probe.err;
  // Training cannot resume from it either; it must not go on silently with other weights.
  ProcessResult resumed =
      run_lab({"--threads", "1", "train", "--data", (dir / "book").string(), "--out", run, "--resume"});
  EXPECT_EQ(resumed.exit_code, 2) << resumed.err;
  EXPECT_NE(resumed.err.find("corrupt"), std::string::npos) << resumed.err;
  // The previous checkpoint still probes.
  ProcessResult previous = run_lab({"--threads", "1", "probe", run, "--checkpoint",
                                    (dir / "run" / "checkpoints" / "step-00000004.safetensors").string()});
  EXPECT_EQ(previous.exit_code, 0) << previous.err;
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

TEST(Train, ACheckpointOfAnotherShapeIsRefusedNamingTheTensor) {
  TempDir dir;
  ASSERT_EQ(
      run_lab({"-q", "gen", "phonebook", "--entries", "100", "--out", (dir / "book").string()}).exit_code, 0);
  const std::string run = (dir / "run").string();
  ASSERT_EQ(run_lab({"-q", "--threads", "1", "train", "--data", (dir / "book").string(), "--out", run,
                     "--steps", "2", "--d-model", "32", "--layers", "1", "--heads", "2"})
                .exit_code,
            0);
  // config.json edited after training: d_model 32 -> 64, so every weight's shape disagrees.
  nlohmann::json config = nlohmann::json::parse(std::ifstream(dir / "run" / "config.json"));
  config["model"]["d_model"] = 64;
  config["train"]["steps"] = 4;  // unfinished, so --resume loads the checkpoint
  std::ofstream(dir / "run" / "config.json") << config.dump(2);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"probe", run},
        std::vector<std::string>{"train", "--data", (dir / "book").string(), "--out", run, "--resume"}}) {
    ProcessResult r = run_lab(with({"--threads", "1"}, args));
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("step-00000002.safetensors: tensor '"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("32] in the file"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("64]: the file belongs to another model"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("config.json"), std::string::npos) << r.err;
  }
}

TEST(Train, ANonFiniteLossStopsTrainingAndSaysAtWhichStep) {
  TempDir dir;
  ASSERT_EQ(
      run_lab({"-q", "gen", "phonebook", "--entries", "64", "--out", (dir / "book").string()}).exit_code, 0);
  ProcessResult r = run_lab(with({"--threads", "1", "-q", "train", "--data", (dir / "book").string(), "--out",
                                  (dir / "run").string(), "--steps", "200", "--lr", "1e12", "--grad-clip",
                                  "0", "--schedule", "constant", "--checkpoint-every", "1"},
                                 kTinyModel));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("at step"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace lab::test
