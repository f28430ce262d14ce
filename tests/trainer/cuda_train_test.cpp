// The trainer on a CUDA device, through the real `lab` binary: a dense and an MoE model train on the
// GPU as on the CPU (the same logged losses up to the devices' rounding), a run resumed on the GPU
// from a checkpoint ends byte-identical to an uninterrupted GPU run, and probes run. Skipped, saying
// why, without a CUDA device; scripts/gpu_check.sh runs them on one.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <torch/torch.h>
#include <torch/version.h>

#include "tests/support/files.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trained_run.h"

namespace lab::cuda_train_test {

namespace fs = std::filesystem;
using test::logged_losses;
using test::ProcessResult;
using test::read_text;
using test::run_lab;
using test::TempDir;

std::vector<std::string> train_args(const fs::path& data, const fs::path& out, const std::string& device,
                                    const std::string& experts) {
  return {"--threads",
          "1",
          "-q",
          "train",
          "--data",
          data.string(),
          "--out",
          out.string(),
          "--device",
          device,
          "--steps",
          "40",
          "--batch-size",
          "16",
          "--log-every",
          "10",
          "--checkpoint-every",
          "20",
          "--d-model",
          "64",
          "--layers",
          "2",
          "--heads",
          "2",
          "--experts",
          experts};
}

TEST(TrainOnCuda, TrainsLikeTheCpuAndResumesByteIdentically) {
  if (!torch::cuda::is_available()) {
    GTEST_SKIP() << "no CUDA device here (LibTorch " << TORCH_VERSION
                 << "); scripts/gpu_check.sh runs it on one";
  }
  TempDir dir;
  ASSERT_EQ(
      run_lab({"-q", "gen", "phonebook", "--entries", "128", "--out", (dir / "book").string()}).exit_code, 0);
  for (const std::string experts : {"0", "4"}) {
    SCOPED_TRACE("--experts " + experts);
    const fs::path cpu = dir / ("cpu" + experts), gpu = dir / ("gpu" + experts);
    ProcessResult on_cpu = run_lab(train_args(dir / "book", cpu, "cpu", experts));
    ASSERT_EQ(on_cpu.exit_code, 0) << on_cpu.err;
    ProcessResult on_gpu = run_lab(train_args(dir / "book", gpu, "cuda", experts));
    ASSERT_EQ(on_gpu.exit_code, 0) << on_gpu.err;
    const std::vector<double> a = logged_losses(cpu), b = logged_losses(gpu);
    ASSERT_EQ(a.size(), 4u);
    ASSERT_EQ(b.size(), a.size());
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(b[i], a[i], 2e-3 * a[i]) << "log line " << i;

    // Resume on the GPU from step 20: the same step-40 checkpoint as the uninterrupted GPU run.
    const fs::path part = dir / ("part" + experts);
    fs::copy(gpu, part, fs::copy_options::recursive);
    for (const char* file : {"step-00000040.safetensors", "step-00000040.json"})
      fs::remove(part / "checkpoints" / file);
    ProcessResult resumed =  // on the device the run was started on (config.json's)
        run_lab({"-q", "train", "--data", (dir / "book").string(), "--out", part.string(), "--resume"});
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_EQ(read_text(part / "checkpoints" / "step-00000040.safetensors"),
              read_text(gpu / "checkpoints" / "step-00000040.safetensors"))
        << "a resumed GPU run differs from an uninterrupted one";
  }
}

}  // namespace lab::cuda_train_test
