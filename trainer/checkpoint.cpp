#include "trainer/checkpoint.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "core/crc32c.h"
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

// step-00000100.pt -> step-00000100.pt.crc32c: the CRC-32C of the checkpoint's bytes, in hex.
fs::path checksum_file(const fs::path& checkpoint) {
  fs::path file = checkpoint;
  file += ".crc32c";
  return file;
}

// The checkpoint's bytes, checked against its checksum file (written before the checkpoint itself, so
// every checkpoint this lab wrote has one; one without it predates checksums and is read unchecked).
std::string verified_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail("{}: cannot open the checkpoint", file.string());
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ifstream sum_in(checksum_file(file));
  std::string recorded;
  if (sum_in && std::getline(sum_in, recorded)) {
    const std::string actual = fmt::format("{:08x}", crc32c(0, bytes.data(), bytes.size()));
    if (actual != recorded) {
      std::vector<fs::path> all = checkpoints(file.parent_path().parent_path());
      auto it = std::find(all.begin(), all.end(), file);
      const std::string previous =
          it != all.end() && it != all.begin()
              ? fmt::format("; the previous one is {} (delete this one to resume from it)",
                            (it - 1)->string())
              : "";
      fail("{}: checksum {} does not match the recorded {}: the checkpoint is corrupt{}", file.string(),
           actual, recorded, previous);
    }
  }
  return bytes;
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
  archive.write("window_sums",
                torch::tensor(std::vector<double>(state.window_sums.begin(), state.window_sums.end()),
                              torch::kFloat64));
  archive.write(
      "window_counts",
      torch::tensor(std::vector<std::int64_t>{state.window_steps, state.window_tokens}, torch::kInt64));
  archive.write("window_seconds", torch::tensor(state.window_seconds, torch::kFloat64));
  std::ostringstream bytes;
  archive.save_to(bytes);

  fs::path dir = run_dir / "checkpoints";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("cannot create {}: {}", dir.string(), ec.message());
  const fs::path file = dir / fmt::format("step-{:08d}.pt", state.step);
  const std::string data = bytes.str();
  write_file_atomically(checksum_file(file), fmt::format("{:08x}\n", crc32c(0, data.data(), data.size())));
  write_file_atomically(file, data);

  std::vector<fs::path> files = checkpoints(run_dir);
  for (std::size_t i = 0; i + static_cast<std::size_t>(std::max(keep, 1)) < files.size(); ++i) {
    fs::remove(files[i], ec);
    fs::remove(checksum_file(files[i]), ec);
  }
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
    const std::string bytes = verified_bytes(file);
    archive.load_from(bytes.data(), bytes.size());
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
    if (archive.try_read("window_seconds", window_seconds))
      state.window_seconds = window_seconds.item<double>();
  } catch (const c10::Error& e) {
    fail("{}: cannot load the checkpoint ({}); delete it to resume from the one before", file.string(),
         e.what_without_backtrace());
  }
  return state;
}

void load_model_weights(const fs::path& file, torch::nn::Module& model) {
  try {
    torch::serialize::InputArchive archive, model_archive;
    const std::string bytes = verified_bytes(file);
    archive.load_from(bytes.data(), bytes.size());
    archive.read("model", model_archive);
    model.load(model_archive);
  } catch (const c10::Error& e) {
    fail("{}: cannot load the model weights ({})", file.string(), e.what_without_backtrace());
  }
}

}  // namespace lab
