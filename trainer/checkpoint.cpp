#include "trainer/checkpoint.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <type_traits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/crc32c.h"
#include "core/error.h"
#include "core/json_file.h"
#include "core/read_file.h"
#include "core/run_files.h"
#include "core/safetensors.h"
#include "trainer/fused_adamw.h"
#include "trainer/tensor_file.h"

namespace lab {
namespace fs = std::filesystem;
namespace {

constexpr const char* kFormat = "lab-checkpoint";
constexpr const char* kFormatVersion = "1";

// The step of a checkpoint file's name (step-00000100.safetensors or the older step-00000100.pt), or
// -1 for any other name.
std::int64_t step_of_name(const std::string& name) {
  std::string_view rest = name;
  if (!rest.starts_with("step-")) return -1;
  rest.remove_prefix(5);
  if (rest.ends_with(".safetensors")) {
    rest.remove_suffix(12);
  } else if (rest.ends_with(".pt")) {
    rest.remove_suffix(3);
  } else {
    return -1;
  }
  std::int64_t step = -1;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), step);
  return ec == std::errc() && end == rest.data() + rest.size() && !rest.empty() ? step : -1;
}

// The run's checkpoints in step order.
std::vector<fs::path> checkpoints(const fs::path& run_dir) {
  std::vector<std::pair<std::int64_t, fs::path>> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run_dir / run_files::kCheckpoints, ec)) {
    const std::int64_t step = step_of_name(entry.path().filename().string());
    if (step >= 0) files.emplace_back(step, entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<fs::path> paths;
  for (auto& [step, path] : files) paths.push_back(std::move(path));
  return paths;
}

bool is_legacy(const fs::path& checkpoint) { return checkpoint.extension() == ".pt"; }

// The record beside a checkpoint, written before it: step-00000100.json with the CRC-32C of the
// tensor file and what varies from run to run (wall-clock seconds), kept out of the tensor file so that
// identical runs write identical checkpoints. Checkpoints of the older LibTorch-archive format have
// step-00000100.pt.crc32c (the checksum only) instead.
fs::path record_file(const fs::path& checkpoint) {
  if (is_legacy(checkpoint)) {
    fs::path file = checkpoint;
    file += ".crc32c";
    return file;
  }
  fs::path file = checkpoint;
  file.replace_extension(".json");
  return file;
}

struct Record {
  std::string crc32c;  // empty: no record, the checkpoint is read unchecked
  double seconds = 0;
  double window_seconds = 0;
};

Record read_record(const fs::path& checkpoint) {
  Record record;
  const fs::path file = record_file(checkpoint);
  if (!fs::exists(file)) return record;
  if (is_legacy(checkpoint)) {
    std::ifstream in(file);
    std::getline(in, record.crc32c);
    return record;
  }
  const nlohmann::json j = read_json_file(file);
  try {
    record.crc32c = j.at("crc32c").get<std::string>();
    record.seconds = j.value("seconds", 0.0);
    record.window_seconds = j.value("window_seconds", 0.0);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not a checkpoint record ({}); delete it to read {} unchecked", file.string(), e.what(),
         checkpoint.string());
  }
  return record;
}

// The checkpoint's bytes, checked against its record's checksum.
std::string verified_bytes(const fs::path& file, const Record& record) {
  std::optional<std::string> read = read_file(file);
  if (!read) fail("{}: cannot read the checkpoint", file.string());
  std::string bytes = std::move(*read);
  if (!record.crc32c.empty()) {
    const std::string actual = fmt::format("{:08x}", crc32c(0, bytes.data(), bytes.size()));
    if (actual != record.crc32c) {
      std::vector<fs::path> all = checkpoints(file.parent_path().parent_path());
      auto it = std::find(all.begin(), all.end(), file);
      const std::string previous =
          it != all.end() && it != all.begin()
              ? fmt::format("; the previous one is {} (delete this one to resume from it)",
                            (it - 1)->string())
              : "";
      fail("{}: checksum {} does not match the recorded {}: the checkpoint is corrupt{}", file.string(),
           actual, record.crc32c, previous);
    }
  }
  return bytes;
}

template <typename T>
T read_scalar(const SafetensorsFile& file, const fs::path& path, const std::string& name,
              torch::ScalarType type, std::int64_t count, std::int64_t index = 0) {
  const SafetensorsTensor* stored = file.find(name);
  if (stored == nullptr || stored->dtype != safetensors_dtype(type) || stored->shape.size() > 1 ||
      (stored->shape.empty() ? 1 : stored->shape[0]) != count) {
    fail("{}: '{}' is missing or malformed: not a checkpoint this lab wrote", path.string(), name);
  }
  return to_tensor(*stored, type).reshape(-1)[index].item<T>();
}

std::string optimizer_name(std::size_t group, std::size_t index, const char* field) {
  return fmt::format("optimizer.{}.{}.{}", group, index, field);
}

// ---- the older format: one LibTorch archive (read only) ----

void load_module_checked(torch::nn::Module& model, torch::serialize::InputArchive& archive,
                         const fs::path& file) {
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> expected;
  for (const auto& item : model.named_parameters())
    expected.emplace_back(item.key(), item.value().sizes().vec());
  for (const auto& item : model.named_buffers())
    expected.emplace_back(item.key(), item.value().sizes().vec());
  model.load(archive);  // replaces every tensor by the stored one, whatever its shape
  auto parameters = model.named_parameters();
  auto buffers = model.named_buffers();
  for (const auto& [name, sizes] : expected) {
    const torch::Tensor* loaded = parameters.find(name);
    if (loaded == nullptr) loaded = buffers.find(name);
    if (loaded != nullptr && loaded->sizes() == c10::IntArrayRef(sizes)) continue;
    shape_mismatch(file, name, loaded ? shape_text(loaded->sizes()) : "none", sizes);
  }
}

CheckpointState load_legacy(const fs::path& file, const std::string& bytes, torch::nn::Module& model,
                            torch::optim::AdamW* optimizer) {
  CheckpointState state;
  try {
    torch::serialize::InputArchive archive, model_archive, optimizer_archive;
    archive.load_from(bytes.data(), bytes.size());
    archive.read("model", model_archive);
    load_module_checked(model, model_archive, file);
    if (optimizer == nullptr) return state;
#if TORCH_VERSION_MAJOR >= 2
    // LibTorch 1.x filed optimizer states under pointers written as hex text; 2.x reads the keys as
    // decimal numbers, so every state would land on one key.
    fail(
        "{}: a checkpoint of the older LibTorch-archive format, whose optimizer state LibTorch {} cannot "
        "read; probe it (its weights load), or resume it with a LibTorch 1.x build",
        file.string(), TORCH_VERSION);
#endif
    archive.read("optimizer", optimizer_archive);
    optimizer->load(optimizer_archive);
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

// Loads the model and, if `optimizer` is given, the optimizer and trainer state.
CheckpointState load(const fs::path& file, torch::nn::Module& model, torch::optim::AdamW* optimizer) {
  if (file.extension() != ".safetensors" && !is_legacy(file)) {
    fail("{}: not a checkpoint (checkpoints are RUN/checkpoints/step-N.safetensors)", file.string());
  }
  if (!fs::is_regular_file(file)) fail("{}: no such checkpoint", file.string());
  const Record record = read_record(file);
  const std::string bytes = verified_bytes(file, record);
  if (is_legacy(file)) return load_legacy(file, bytes, model, optimizer);

  const SafetensorsFile stored = parse_safetensors(bytes, file.string());
  if (auto it = stored.metadata.find("format"); it == stored.metadata.end() || it->second != kFormat) {
    fail("{}: a safetensors file but not a lab checkpoint (no __metadata__ format \"{}\")", file.string(),
         kFormat);
  }
  if (auto it = stored.metadata.find("format_version");
      it != stored.metadata.end() && it->second != kFormatVersion) {
    fail("{}: checkpoint format version {} is newer than this lab reads ({})", file.string(), it->second,
         kFormatVersion);
  }
  load_module_tensors(stored, file, model, "model.");
  CheckpointState state;
  if (optimizer == nullptr) return state;

  torch::NoGradGuard no_grad;
  auto& groups = optimizer->param_groups();
  std::size_t optimizer_tensors = 0;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const std::vector<torch::Tensor>& params = groups[g].params();
    for (std::size_t i = 0; i < params.size(); ++i) {
      if (stored.find(optimizer_name(g, i, "exp_avg")) == nullptr) continue;  // no step took it yet
      auto s = std::make_unique<torch::optim::AdamWParamState>();
      s->step(read_scalar<std::int64_t>(stored, file, optimizer_name(g, i, "step"), torch::kLong, 1));
      s->exp_avg(read_like(stored, file, optimizer_name(g, i, "exp_avg"), params[i]).to(params[i].device()));
      s->exp_avg_sq(
          read_like(stored, file, optimizer_name(g, i, "exp_avg_sq"), params[i]).to(params[i].device()));
      optimizer_tensors += 3;
      if (stored.find(optimizer_name(g, i, "max_exp_avg_sq")) != nullptr) {
        s->max_exp_avg_sq(read_like(stored, file, optimizer_name(g, i, "max_exp_avg_sq"), params[i])
                              .to(params[i].device()));
        ++optimizer_tensors;
      }
      optimizer->state()[optimizer_state_key(*optimizer, params[i])] = std::move(s);
    }
  }
  std::size_t stored_optimizer = 0;
  for (const SafetensorsTensor& t : stored.tensors)
    stored_optimizer += t.name.starts_with("optimizer.") ? 1 : 0;
  if (stored_optimizer != optimizer_tensors) {
    fail(
        "{}: holds optimizer state for parameters the model does not have: the checkpoint belongs to another "
        "model (was config.json edited?)",
        file.string());
  }
  state.step = read_scalar<std::int64_t>(stored, file, "trainer.step", torch::kLong, 1);
  state.tokens_seen = read_scalar<std::int64_t>(stored, file, "trainer.tokens_seen", torch::kLong, 1);
  for (int i = 0; i < 4; ++i) {
    state.window_sums[static_cast<std::size_t>(i)] =
        read_scalar<double>(stored, file, "trainer.window_sums", torch::kDouble, 4, i);
  }
  state.window_steps = read_scalar<std::int64_t>(stored, file, "trainer.window_counts", torch::kLong, 2, 0);
  state.window_tokens = read_scalar<std::int64_t>(stored, file, "trainer.window_counts", torch::kLong, 2, 1);
  state.seconds = record.seconds;
  state.window_seconds = record.window_seconds;
  if (const SafetensorsTensor* router = stored.find("trainer.router_window")) {
    if (router->dtype != "F64" || router->shape.size() != 1) {
      fail("{}: 'trainer.router_window' is malformed: not a checkpoint this lab wrote", file.string());
    }
    const torch::Tensor t = to_tensor(*router, torch::kDouble);
    state.router_window.assign(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
  }
  return state;
}

}  // namespace

void save_checkpoint(const fs::path& run_dir, torch::nn::Module& model, torch::optim::AdamW& optimizer,
                     const CheckpointState& state, int keep) {
  SafetensorsWriter writer;
  writer.set_metadata("format", kFormat);
  writer.set_metadata("format_version", kFormatVersion);
  add_module_tensors(writer, model, "model.");
  auto& groups = optimizer.param_groups();
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const std::vector<torch::Tensor>& params = groups[g].params();
    for (std::size_t i = 0; i < params.size(); ++i) {
      auto it = optimizer.state().find(optimizer_state_key(optimizer, params[i]));
      if (it == optimizer.state().end()) continue;
      const auto& s = static_cast<const torch::optim::AdamWParamState&>(*it->second);
      add_tensor(writer, optimizer_name(g, i, "step"), torch::tensor(s.step(), torch::kLong));
      add_tensor(writer, optimizer_name(g, i, "exp_avg"), s.exp_avg());
      add_tensor(writer, optimizer_name(g, i, "exp_avg_sq"), s.exp_avg_sq());
      if (s.max_exp_avg_sq().defined())
        add_tensor(writer, optimizer_name(g, i, "max_exp_avg_sq"), s.max_exp_avg_sq());
    }
  }
  add_tensor(writer, "trainer.step", torch::tensor(state.step, torch::kLong));
  add_tensor(writer, "trainer.tokens_seen", torch::tensor(state.tokens_seen, torch::kLong));
  add_tensor(
      writer, "trainer.window_sums",
      torch::tensor(std::vector<double>(state.window_sums.begin(), state.window_sums.end()), torch::kDouble));
  add_tensor(writer, "trainer.window_counts",
             torch::tensor(std::vector<std::int64_t>{state.window_steps, state.window_tokens}, torch::kLong));
  if (!state.router_window.empty()) {
    add_tensor(writer, "trainer.router_window", torch::tensor(state.router_window, torch::kDouble));
  }
  const std::string data = writer.serialize();

  fs::path dir = run_dir / run_files::kCheckpoints;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("cannot create {}: {}", dir.string(), ec.message());
  const fs::path file = dir / fmt::format("step-{:08d}.safetensors", state.step);
  const nlohmann::json record = {{"crc32c", fmt::format("{:08x}", crc32c(0, data.data(), data.size()))},
                                 {"seconds", state.seconds},
                                 {"window_seconds", state.window_seconds}};
  write_file_atomically(record_file(file), record.dump() + "\n");
  write_file_atomically(file, data);

  std::vector<fs::path> files = checkpoints(run_dir);
  for (std::size_t i = 0; i + static_cast<std::size_t>(std::max(keep, 1)) < files.size(); ++i) {
    fs::remove(files[i], ec);
    fs::remove(record_file(files[i]), ec);
  }
}

std::optional<fs::path> latest_checkpoint(const fs::path& run_dir) {
  std::vector<fs::path> files = checkpoints(run_dir);
  if (files.empty()) return std::nullopt;
  return files.back();
}

CheckpointState load_checkpoint(const fs::path& file, torch::nn::Module& model,
                                torch::optim::AdamW& optimizer) {
  return load(file, model, &optimizer);
}

void load_model_weights(const fs::path& file, torch::nn::Module& model) { load(file, model, nullptr); }

}  // namespace lab
