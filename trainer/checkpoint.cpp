#include "trainer/checkpoint.h"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "core/error.h"

namespace lab {
namespace fs = std::filesystem;
namespace {

std::vector<fs::path> checkpoints(const fs::path& run_dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run_dir / "checkpoints", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("step-") && name.ends_with(".pt")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());  // zero-padded step numbers sort in step order
  return files;
}

}  // namespace

void save_checkpoint(const fs::path& run_dir, torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                     const CheckpointState& state, int keep) {
  torch::serialize::OutputArchive archive, model_archive, optimizer_archive;
  model.save(model_archive);
  optimizer.save(optimizer_archive);
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("step", torch::tensor(state.step, torch::kInt64));
  archive.write("tokens_seen", torch::tensor(state.tokens_seen, torch::kInt64));
  archive.write("seconds", torch::tensor(state.seconds, torch::kFloat64));
  archive.write("window_sums", torch::tensor(std::vector<double>(state.window_sums.begin(), state.window_sums.end()),
                                             torch::kFloat64));
  archive.write("window_counts", torch::tensor(std::vector<std::int64_t>{state.window_steps, state.window_tokens},
                                               torch::kInt64));
  archive.write("window_seconds", torch::tensor(state.window_seconds, torch::kFloat64));
  std::ostringstream bytes;
  archive.save_to(bytes);

  fs::path dir = run_dir / "checkpoints";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("cannot create {}: {}", dir.string(), ec.message());
  write_file_atomically(dir / fmt::format("step-{:08d}.pt", state.step), bytes.str());

  std::vector<fs::path> files = checkpoints(run_dir);
  for (std::size_t i = 0; i + static_cast<std::size_t>(std::max(keep, 1)) < files.size(); ++i)
    fs::remove(files[i], ec);
}

std::optional<fs::path> latest_checkpoint(const fs::path& run_dir) {
  std::vector<fs::path> files = checkpoints(run_dir);
  if (files.empty()) return std::nullopt;
  return files.back();
}

CheckpointState load_checkpoint(const fs::path& file, torch::nn::Module& model,
                                torch::optim::Optimizer& optimizer) {
  CheckpointState state;
  try {
    torch::serialize::InputArchive archive, model_archive, optimizer_archive;
    archive.load_from(file.string());
    archive.read("model", model_archive);
    archive.read("optimizer", optimizer_archive);
    model.load(model_archive);
    optimizer.load(optimizer_archive);
    torch::Tensor step, tokens;
    archive.read("step", step);
    archive.read("tokens_seen", tokens);
    state.step = step.item<std::int64_t>();
    state.tokens_seen = tokens.item<std::int64_t>();
    torch::Tensor seconds;  // absent from checkpoints written before it was recorded
    if (archive.try_read("seconds", seconds)) state.seconds = seconds.item<double>();
    torch::Tensor sums, counts, window_seconds;  // absent before the window was recorded: an empty window
    if (archive.try_read("window_sums", sums) && sums.numel() == 4) {
      for (int i = 0; i < 4; ++i) state.window_sums[i] = sums[i].item<double>();
    }
    if (archive.try_read("window_counts", counts) && counts.numel() == 2) {
      state.window_steps = counts[0].item<std::int64_t>();
      state.window_tokens = counts[1].item<std::int64_t>();
    }
    if (archive.try_read("window_seconds", window_seconds)) state.window_seconds = window_seconds.item<double>();
  } catch (const c10::Error& e) {
    fail("{}: cannot load the checkpoint ({}); delete it to resume from the one before", file.string(),
         e.what_without_backtrace());
  }
  return state;
}

void load_model_weights(const fs::path& file, torch::nn::Module& model) {
  try {
    torch::serialize::InputArchive archive, model_archive;
    archive.load_from(file.string());
    archive.read("model", model_archive);
    model.load(model_archive);
  } catch (const c10::Error& e) {
    fail("{}: cannot load the model weights ({})", file.string(), e.what_without_backtrace());
  }
}

}  // namespace lab
