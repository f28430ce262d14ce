// Checkpoints and resuming, through the real `lab` binary: a run killed with -9 resumes bit for bit,
// identical runs write identical checkpoints, a finished run is left alone, --resume auto, and
// corrupt or mismatched checkpoints are refused by name.
#include <chrono>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/files.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trained_run.h"
#include "trainer/checkpoint.h"
#include "trainer/model_file.h"

extern char** environ;

namespace lab::test {
namespace {

namespace fs = std::filesystem;

TEST(Train, ResumeAfterKillNineIsBitIdenticalToAnUninterruptedRun) {
  TempDir dir;
  ASSERT_EQ(
      run_lab({"-q", "gen", "phonebook", "--entries", "256", "--out", (dir / "book").string()}).exit_code, 0);
  auto args = [&](const std::string& out) {
    return concat(
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
  // At 2 threads the batch is trained in two parts side by side (trainer/batch_parts.h): as
  // reproducible as one thread.
  for (const char* threads : {"1", "2"}) {
    const std::string a_run = std::string("a") + threads, b_run = std::string("b") + threads;
    for (const std::string& out : {a_run, b_run}) {
      ASSERT_EQ(run_lab(concat({"--threads", threads, "-q", "train", "--data", (dir / "book").string(),
                                "--out", (dir / out).string(), "--steps", "6", "--batch-size", "16",
                                "--checkpoint-every", "3", "--experts", "4"},
                               kTinyModel))
                    .exit_code,
                0);
    }
    for (const char* name : {"step-00000003.safetensors", "step-00000006.safetensors"}) {
      const std::string a = read_text(dir / a_run / "checkpoints" / name);
      EXPECT_FALSE(a.empty()) << name;
      EXPECT_EQ(a, read_text(dir / b_run / "checkpoints" / name)) << threads << " threads: " << name;
    }
  }
  // The record beside each holds the checksum and the seconds that differ.
  auto record = nlohmann::json::parse(read_text(dir / "a1" / "checkpoints" / "step-00000006.json"));
  EXPECT_TRUE(record.contains("crc32c"));
  EXPECT_TRUE(record.contains("seconds"));
}

TEST(Train, ResumingAFinishedRunSaysSoAndChangesNothing) {
  TempDir dir;
  ASSERT_EQ(
      run_lab({"-q", "gen", "phonebook", "--entries", "32", "--out", (dir / "book").string()}).exit_code, 0);
  const std::string run = (dir / "run").string();
  ASSERT_EQ(run_lab(concat({"--threads", "1", "-q", "train", "--data", (dir / "book").string(), "--out", run,
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
      concat({"--threads", "1", "train", "--data", (dir / "book").string(), "--out", run, "--steps", "6",
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
  EXPECT_EQ(argv, concat({LAB_BINARY}, command)) << environment;
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
  ASSERT_EQ(run_lab(concat({"--threads", "1", "-q", "train", "--data", (dir / "book").string(), "--out", run,
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
    ProcessResult r = run_lab(concat({"--threads", "1"}, args));
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("step-00000002.safetensors: tensor '"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("32] in the file"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("64]: the file belongs to another model"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("config.json"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace lab::test
