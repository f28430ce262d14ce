// Data-parallel training through the real `lab` binary: two Gloo workers on loopback against one
// worker with the same global batch, Ctrl-C and resume, workers that die or hang, and the errors a user
// can cause. Every worker runs one thread: the machine has two cores and oversubscribed OpenMP threads
// spin.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <thread>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "models/model_config_json.h"
#include "models/transformer.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trained_run.h"
#include "trainer/checkpoint.h"

// A namespace of its own: the unity build compiles this file together with train_test.cpp.
namespace lab::test::data_parallel {
namespace {

namespace fs = std::filesystem;

nlohmann::json read_config(const fs::path& run) {
  std::ifstream in(run / "config.json");
  return nlohmann::json::parse(in);
}

// How far apart two trained models are, measured against how far training moved them.
struct WeightDifference {
  double relative_l2 = 0;   // ||a - b|| / ||a - initial||, over all parameters as one vector
  double max_relative = 0;  // max over tensors of max|a - b| / max|a|
  double moved = 0;         // ||a - initial||
  double initial = 0;       // ||initial||
};

// `initial`: the weights the trainer starts from (torch::manual_seed(seed), then the constructor).
WeightDifference weight_difference(Transformer& a, Transformer& b, Transformer& initial) {
  WeightDifference d;
  double diff2 = 0, moved2 = 0, initial2 = 0;
  auto pb = b->named_parameters(), p0 = initial->named_parameters();
  for (const auto& item : a->named_parameters()) {
    const torch::Tensor& x = item.value();
    const torch::Tensor& y = pb[item.key()];
    const torch::Tensor& x0 = p0[item.key()];
    diff2 += (x - y).pow(2).sum().item<double>();
    moved2 += (x - x0).pow(2).sum().item<double>();
    initial2 += x0.pow(2).sum().item<double>();
    const double scale = std::max(x.abs().max().item<double>(), 1e-30);
    d.max_relative = std::max(d.max_relative, (x - y).abs().max().item<double>() / scale);
  }
  d.moved = std::sqrt(moved2);
  d.initial = std::sqrt(initial2);
  d.relative_l2 = std::sqrt(diff2) / std::max(d.moved, 1e-30);
  return d;
}

std::vector<nlohmann::json> metrics_lines(const fs::path& run, const char* key) {
  std::ifstream in(run / "metrics.jsonl");
  std::vector<nlohmann::json> lines;
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains(key)) lines.push_back(j);
  }
  return lines;
}

// Waits until the run has logged `steps` training steps (so the workers have met and train).
bool wait_for_steps(const fs::path& run, std::size_t steps, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (metrics_lines(run, "loss").size() >= steps) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  close(fd);
  return ntohs(addr.sin_port);
}

// The environment torchrun would give worker `rank` of two.
std::vector<std::string> torchrun_env(int rank, int port, const std::string& timeout_s) {
  return {"RANK=" + std::to_string(rank), "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1",
          "MASTER_PORT=" + std::to_string(port), "LAB_DIST_TIMEOUT_S=" + timeout_s};
}

// The worker processes a `lab train --nproc` launcher started, by rank (from their environment).
std::map<int, pid_t> workers_of(pid_t launcher) {
  std::map<int, pid_t> workers;
  std::ifstream children(fmt::format("/proc/{}/task/{}/children", launcher, launcher));
  pid_t pid = 0;
  while (children >> pid) {
    std::ifstream environ(fmt::format("/proc/{}/environ", pid), std::ios::binary);
    std::string entry;
    while (std::getline(environ, entry, '\0')) {
      if (entry.starts_with("RANK=")) workers[std::stoi(entry.substr(5))] = pid;
    }
  }
  return workers;
}

class DataParallel : public ::testing::Test {
 protected:
  void SetUp() override {
    // 67 entries in batches of 16: four full batches and one of 3 per epoch, which two workers split
    // 1 + 2, so the loss normalisation by the global token count is exercised too.
    ASSERT_EQ(run_lab({"-q", "gen", "phonebook", "--entries", "67", "--out", book()}).exit_code, 0);
  }
  std::string book() const { return (dir_ / "book").string(); }
  std::string run(const std::string& name) const { return (dir_ / name).string(); }
  std::vector<std::string> train(const std::string& out, const std::string& steps) const {
    return concat({"-q", "train", "--data", book(), "--out", out, "--steps", steps, "--batch-size", "16",
                   "--lr", "3e-3", "--warmup", "0.05", "--log-every", "1"},
                  kTinyModel);
  }
  TempDir dir_;
};

// The acceptance test of data parallelism: 2 workers x 8 examples take the steps 1 worker x 16 does.
// They differ only in fp32 summation order (per-rank sums of the loss and of every gradient added
// across ranks instead of in one pass), ~1e-7 relative. Tolerances, after 6 AdamW steps:
//   - weights: ||w_2 - w_1|| < 1e-4 ||w_1 - w_init||: the runs' updates agree to 1e-4 (measured
//     3e-7 dense, 4e-6 MoE); and every weight within 1e-3 of its tensor's largest (measured 5e-7
//     dense, 6e-5 MoE: AdamW divides by sqrt(v), so the few weights whose gradient nearly cancels
//     amplify the rounding differences);
//   - the loss of every step to 1e-5 relative, the gradient norm to 1e-4 relative (AdamW does not see
//     a gradient scaled by a constant, so the norm is what catches a wrong normalisation), the token
//     counts exactly.
TEST_F(DataParallel, TwoGlooWorkersReachTheWeightsOfOneWorkerWithTheSameGlobalBatch) {
  // The MoE's router losses are per-rank (trainer.cpp), so the exact comparison turns them off; its
  // routing is token choice, which routes every token on its own.
  const std::vector<std::pair<std::string, std::vector<std::string>>> models = {
      {"dense", {}},
      {"moe", {"--experts", "4", "--top-k", "2", "--load-balance-coef", "0", "--z-loss-coef", "0"}}};
  for (const auto& [name, flags] : models) {
    SCOPED_TRACE(name);
    const std::string one = run(name + "_one"), two = run(name + "_two");
    ProcessResult single = run_lab(concat(concat({"--threads", "1"}, train(one, "6")), flags));
    ASSERT_EQ(single.exit_code, 0) << single.err;
    ProcessResult pair =
        run_lab(concat(concat({"--threads", "2"}, train(two, "6")), concat(flags, {"--nproc", "2"})));
    ASSERT_EQ(pair.exit_code, 0) << pair.err;

    Transformer a = load_run(one), b = load_run(two);
    torch::manual_seed(0);  // the trainer's default --seed
    Transformer initial(a->config());
    const WeightDifference d = weight_difference(a, b, initial);
    EXPECT_LT(d.relative_l2, 1e-4);
    EXPECT_LT(d.max_relative, 1e-3);
    EXPECT_GT(d.moved, 0.0);
    EXPECT_LT(d.moved, 0.5 * d.initial) << "`initial` is not the weights the trainer started from";
    auto la = metrics_lines(one, "loss"), lb = metrics_lines(two, "loss");
    ASSERT_EQ(la.size(), 6u);
    ASSERT_EQ(lb.size(), 6u);
    for (std::size_t i = 0; i < la.size(); ++i) {
      EXPECT_EQ(la[i].at("tokens"), lb[i].at("tokens"));
      EXPECT_NEAR(la[i].at("loss").get<double>(), lb[i].at("loss").get<double>(),
                  1e-5 * la[i].at("loss").get<double>());
      EXPECT_NEAR(la[i].at("grad_norm").get<double>(), lb[i].at("grad_norm").get<double>(),
                  1e-4 * la[i].at("grad_norm").get<double>());
    }
    EXPECT_NEAR(metrics_lines(one, "eval_loss").back().at("eval_loss").get<double>(),
                metrics_lines(two, "eval_loss").back().at("eval_loss").get<double>(), 1e-5);
  }
}

TEST_F(DataParallel, CtrlCStopsEveryWorkerRankZeroSavesAndResumeIsBitIdentical) {
  const std::string straight = run("straight"), stopped = run("stopped");
  auto args = [&](const std::string& out) {
    return concat(concat({"--threads", "2"}, train(out, "100")), {"--nproc", "2", "--experts", "4"});
  };
  ASSERT_EQ(run_lab(args(straight)).exit_code, 0);

  RunningProcess launcher(LAB_BINARY, args(stopped));
  ASSERT_TRUE(wait_for_steps(stopped, 3, 60));
  kill(launcher.pid(), SIGINT);
  ASSERT_TRUE(launcher.exited_within(60));
  ProcessResult r = launcher.finish();
  EXPECT_EQ(r.exit_code, 128 + SIGINT) << r.err;
  // The message says what was kept and how to go on, not that output was removed.
  EXPECT_NE(r.err.find("a checkpoint was saved"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--resume"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("partial output was removed"), std::string::npos) << r.err;
  auto saved = latest_checkpoint(stopped);
  ASSERT_TRUE(saved.has_value());
  ASSERT_LT(saved->filename().string(), "step-00000100.safetensors") << "the run finished before the Ctrl-C";

  // The run records its workers and threads; the resume names neither (and another thread count)
  // and still continues on two workers of one thread each.
  const nlohmann::json config = read_config(stopped);
  EXPECT_EQ(config.at("parallelism").at("workers"), 2);
  EXPECT_EQ(config.at("parallelism").at("threads_per_worker"), 1);
  ProcessResult resumed =
      run_lab({"--threads", "1", "train", "--data", book(), "--out", stopped, "--resume"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("2 workers with 1 thread each"), std::string::npos) << resumed.out;
  Transformer a = load_run(straight), b = load_run(stopped);
  EXPECT_TRUE(same_weights(a, b));
  // The logged losses after the resume are the uninterrupted run's too.
  auto la = metrics_lines(straight, "loss"), lb = metrics_lines(stopped, "loss");
  ASSERT_EQ(la.size(), lb.size());
  for (std::size_t i = 0; i < la.size(); ++i) EXPECT_EQ(la[i].at("loss"), lb[i].at("loss")) << i;
}

TEST_F(DataParallel, AResumeUnderADifferentWorkerCountSaysItWillNotBeBitIdentical) {
  const std::string out = run("run");
  ASSERT_EQ(run_lab(concat({"--threads", "1"}, train(out, "4"))).exit_code, 0);
  // Pretend the run is unfinished (more steps) and continue it as two torchrun workers.
  nlohmann::json config = read_config(out);
  EXPECT_EQ(config.at("parallelism").at("workers"), 1);
  config["train"]["steps"] = 6;
  std::ofstream(fs::path(out) / "config.json") << config.dump(2);
  const int port = free_port();
  RunningProcess rank0(LAB_BINARY, {"--threads", "1", "train", "--data", book(), "--out", out, "--resume"},
                       torchrun_env(0, port, "60"));
  RunningProcess rank1(LAB_BINARY, {"--threads", "1", "train", "--data", book(), "--out", out, "--resume"},
                       torchrun_env(1, port, "60"));
  ASSERT_TRUE(rank0.exited_within(120));
  ASSERT_TRUE(rank1.exited_within(60));
  ProcessResult r0 = rank0.finish(), r1 = rank1.finish();
  EXPECT_EQ(r0.exit_code, 0) << r0.err;
  EXPECT_EQ(r1.exit_code, 0) << r1.err;
  EXPECT_NE(r0.err.find("trained by 1 worker and continues on 2"), std::string::npos) << r0.err;
}

TEST_F(DataParallel, AWorkerThatDiesMakesTheOtherExitWithAnErrorAtOnce) {
  const int port = free_port();
  const std::string out = run("run");
  // The timeout is long: the survivor must notice the closed connection, not wait it out.
  RunningProcess rank0(LAB_BINARY, concat({"--threads", "1"}, train(out, "100000")),
                       torchrun_env(0, port, "60"));
  RunningProcess rank1(LAB_BINARY, concat({"--threads", "1"}, train(out, "100000")),
                       torchrun_env(1, port, "60"));
  ASSERT_TRUE(wait_for_steps(out, 2, 60));
  kill(rank1.pid(), SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(rank0.exited_within(30)) << "rank 0 hangs after rank 1 died";
  EXPECT_LT(std::chrono::steady_clock::now() - killed, std::chrono::seconds(30));
  ProcessResult r = rank0.finish();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("rank 0"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("another worker stopped"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("internal error"), std::string::npos)
      << "a dead peer is not a bug of this one: " << r.err;
}

TEST_F(DataParallel, AWorkerThatHangsMakesTheOtherFailAfterTheTimeout) {
  const int port = free_port();
  const std::string out = run("run");
  RunningProcess rank0(LAB_BINARY, concat({"--threads", "1"}, train(out, "100000")),
                       torchrun_env(0, port, "5"));
  RunningProcess rank1(LAB_BINARY, concat({"--threads", "1"}, train(out, "100000")),
                       torchrun_env(1, port, "5"));
  ASSERT_TRUE(wait_for_steps(out, 2, 60));
  kill(rank1.pid(), SIGSTOP);  // alive, sockets open, silent
  const bool exited = rank0.exited_within(40);
  kill(rank1.pid(), SIGKILL);
  ASSERT_TRUE(exited) << "rank 0 hangs on a stopped rank 1";
  ProcessResult r = rank0.finish();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("rank 0"), std::string::npos) << r.err;
}

TEST_F(DataParallel, TheLauncherStopsTheOtherWorkersAndNamesTheRankThatDied) {
  const std::string out = run("run");
  RunningProcess launcher(LAB_BINARY,
                          concat(concat({"--threads", "2"}, train(out, "100000")), {"--nproc", "2"}),
                          {"LAB_DIST_TIMEOUT_S=60"});
  ASSERT_TRUE(wait_for_steps(out, 2, 60));
  std::map<int, pid_t> workers = workers_of(launcher.pid());
  ASSERT_EQ(workers.size(), 2u);
  kill(workers.at(1), SIGKILL);
  ASSERT_TRUE(launcher.exited_within(30)) << "the launcher hangs after a worker died";
  ProcessResult r = launcher.finish();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("rank 1 was killed by signal 9"), std::string::npos) << r.err;
  EXPECT_NE(kill(workers.at(0), 0), 0) << "rank 0 is still running";
}

TEST_F(DataParallel, WorkersThatNeverMeetFailAfterTheTimeout) {
  // Rank 1 alone finds no store; rank 0 alone waits for a rank 1 that never comes.
  for (int rank : {1, 0}) {
    const auto start = std::chrono::steady_clock::now();
    ProcessResult r = run_lab(concat({"--threads", "1"}, train(run("run" + std::to_string(rank)), "5")),
                              torchrun_env(rank, free_port(), "1"));
    // Rank 1's address is the user's to fix (exit 2); rank 0 is fine but its peer never came (exit 1).
    EXPECT_EQ(r.exit_code, rank == 1 ? 2 : 1) << r.err;
    EXPECT_NE(r.err.find(rank == 1 ? "cannot reach the rendezvous store" : "did not all join"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  }
}

TEST_F(DataParallel, WorkersThatDisagreeOnTheDatasetLeaveNoRunDirectory) {
  // Rank 0 has written config.json when it learns that rank 1 reads another dataset: the run never
  // took a step, so nothing of it may stay (the retry would be refused as "exists and is not empty").
  const std::string other = run("other"), out = run("run");
  ASSERT_EQ(run_lab({"-q", "gen", "phonebook", "--entries", "67", "--seed", "9", "--out", other}).exit_code,
            0);
  const int port = free_port();
  std::vector<std::string> rank1_args = concat({"--threads", "1"}, train(out, "5"));
  *std::find(rank1_args.begin(), rank1_args.end(), book()) = other;
  RunningProcess rank0(LAB_BINARY, concat({"--threads", "1"}, train(out, "5")), torchrun_env(0, port, "60"));
  RunningProcess rank1(LAB_BINARY, rank1_args, torchrun_env(1, port, "60"));
  ASSERT_TRUE(rank0.exited_within(60));
  ASSERT_TRUE(rank1.exited_within(60));
  ProcessResult r0 = rank0.finish();
  EXPECT_EQ(r0.exit_code, 2) << r0.err;
  EXPECT_NE(r0.err.find("different datasets"), std::string::npos) << r0.err;
  EXPECT_NE(rank1.finish().exit_code, 0);
  EXPECT_FALSE(fs::exists(out)) << "the run that never started left its directory";
}

TEST_F(DataParallel, BadGroupSetupExitsTwoNamingIt) {
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string mentions;
  };
  const std::string out = run("run");
  const std::vector<std::string> group = {"WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1", "MASTER_PORT=29999"};
  std::vector<Case> cases = {
      {concat(train(out, "5"), {"--nproc", "0"}), {}, "--nproc"},
      {concat(train(out, "5"), {"--nproc", "two"}), {}, "--nproc"},
      {concat(train(out, "5"), {"--nproc", "3"}), {}, "--batch-size"},
      {concat(train(out, "5"), {"--batch-size", "15"}), concat(group, {"RANK=0"}), "--batch-size"},
      {train(out, "5"), {"RANK=0", "WORLD_SIZE=2"}, "MASTER_ADDR"},
      {train(out, "5"), {"RANK=0", "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1"}, "MASTER_PORT"},
      {train(out, "5"), concat(group, {"RANK=2"}), "RANK=2 must be smaller than WORLD_SIZE=2"},
      {train(out, "5"), {"RANK=0"}, "WORLD_SIZE"},
      {train(out, "5"), {"RANK=0", "WORLD_SIZE=zwei"}, "WORLD_SIZE"},
      {train(out, "5"),
       {"RANK=0", "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1", "MASTER_PORT=99999"},
       "MASTER_PORT"},
      {train(out, "5"), concat(group, {"RANK=0", "LAB_DIST_TIMEOUT_S=soon"}), "LAB_DIST_TIMEOUT_S"},
      {concat(train(out, "5"), {"--nproc", "3"}), concat(group, {"RANK=0"}), "--nproc"},
      {train(out, "5"),
       {"SLURM_PROCID=3", "SLURM_NTASKS=2", "MASTER_ADDR=127.0.0.1", "MASTER_PORT=29999"},
       "SLURM_PROCID=3 must be smaller than SLURM_NTASKS=2"},
  };
  for (const Case& c : cases) {
    ProcessResult r = run_lab(c.args, c.env);
    EXPECT_EQ(r.exit_code, 2) << c.mentions << ": " << r.err;
    EXPECT_NE(r.err.find(c.mentions), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists(out)) << "a rejected run must not create its directory";
}

}  // namespace
}  // namespace lab::test::data_parallel
