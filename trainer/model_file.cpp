#include "trainer/model_file.h"

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_file.h"
#include "core/read_file.h"
#include "core/run_files.h"
#include "core/safetensors.h"
#include "models/model_config_json.h"
#include "trainer/checkpoint.h"
#include "trainer/tensor_file.h"

namespace lab {
namespace fs = std::filesystem;
namespace {

constexpr const char* kModelFileFormat = "lab-model";
constexpr const char* kModelFileVersion = "1";
constexpr const char* kConfigKey = "config";

ModelConfig model_config_of(const nlohmann::json& run_config, const std::string& source) {
  if (!run_config.is_object() || !run_config.contains(run_files::config::kModel)) {
    fail("{}: not a run's config (no \"{}\" object)", source, run_files::config::kModel);
  }
  return model_config_from_json(run_config.at(run_files::config::kModel), source);
}

}  // namespace

std::string model_file_bytes(torch::nn::Module& model, const nlohmann::json& run_config) {
  SafetensorsWriter writer;
  writer.set_metadata("format", kModelFileFormat);
  writer.set_metadata("format_version", kModelFileVersion);
  writer.set_metadata(kConfigKey, run_config.dump());
  add_module_tensors(writer, model, "");
  return writer.serialize();
}

void write_model_file(const fs::path& file, torch::nn::Module& model, const nlohmann::json& run_config) {
  write_file_atomically(file, model_file_bytes(model, run_config));
}

void export_model(const fs::path& run_dir, const fs::path& checkpoint, const fs::path& out) {
  const fs::path config_file = run_dir / run_files::kConfig;
  if (!fs::exists(config_file))
    fail("{}: not a run directory (it has no {})", run_dir.string(), run_files::kConfig);
  const nlohmann::json run_config = read_json_file(config_file);
  const ModelConfig config = model_config_of(run_config, config_file.string());
  fs::path weights = checkpoint;
  if (weights.empty()) {
    auto latest = latest_checkpoint(run_dir);
    if (!latest) fail("{}: the run has no checkpoint yet (train it first)", run_dir.string());
    weights = *latest;
  }
  const fs::path parent = fs::absolute(out).parent_path();
  if (!fs::is_directory(parent)) {
    fail("--out {}: the directory {} does not exist; create it or name another file", out.string(),
         parent.string());
  }
  Transformer model(config);
  load_model_weights(weights, *model);
  write_model_file(out, *model, run_config);
}

ModelFile load_model_file(const fs::path& file) {
  const std::optional<std::string> read = read_file(file);
  if (!read) fail("{}: cannot read the model file", file.string());
  const std::string& bytes = *read;
  const SafetensorsFile stored = parse_safetensors(bytes, file.string());
  auto format = stored.metadata.find("format");
  if (format == stored.metadata.end() || format->second != kModelFileFormat) {
    fail("{}: a safetensors file but not a lab model file (no __metadata__ format \"{}\")", file.string(),
         kModelFileFormat);
  }
  if (auto version = stored.metadata.find("format_version");
      version == stored.metadata.end() || version->second != kModelFileVersion) {
    fail("{}: model file format version {} is not the one this lab reads ({})", file.string(),
         version == stored.metadata.end() ? "(none)" : version->second, kModelFileVersion);
  }
  auto config_text = stored.metadata.find(kConfigKey);
  if (config_text == stored.metadata.end())
    fail("{}: the model file has no config in its metadata", file.string());
  ModelFile result;
  try {
    result.run_config = nlohmann::json::parse(config_text->second);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: the config in the model file's metadata is not JSON ({})", file.string(), e.what());
  }
  result.model = Transformer(model_config_of(result.run_config, file.string()));
  load_module_tensors(stored, file, *result.model, "");
  return result;
}

}  // namespace lab
