#include "trainer/run_directory.h"

#include <fstream>
#include <string>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_file.h"
#include "core/run_files.h"

namespace lab {
namespace fs = std::filesystem;

std::optional<RunParallelism> stored_parallelism(const fs::path& run_dir) {
  const fs::path config_file = run_dir / run_files::kConfig;
  if (!fs::exists(config_file)) return std::nullopt;
  return parallelism_of(read_json_file(config_file), config_file);
}

std::optional<RunParallelism> parallelism_of(const nlohmann::json& stored, const fs::path& config_file) {
  namespace key = run_files::config;
  if (!stored.is_object() || !stored.contains(key::kParallelism)) return std::nullopt;
  try {
    RunParallelism p;
    p.workers = stored.at(key::kParallelism).at(key::kWorkers).get<int>();
    p.threads = stored.at(key::kParallelism).at(key::kThreadsPerWorker).get<int>();
    if (p.workers < 1 || p.threads < 1) throw std::out_of_range("not positive");
    return p;
  } catch (const std::exception& e) {
    fail("{}: \"{}\" needs positive integers \"{}\" and \"{}\" ({})", config_file.string(), key::kParallelism,
         key::kWorkers, key::kThreadsPerWorker, e.what());
  }
}

Kernels kernels_of(const nlohmann::json& stored, const fs::path& config_file) {
  namespace key = run_files::config;
  if (!stored.is_object() || !stored.contains(key::kKernels)) return Kernels::reference;
  const nlohmann::json& value = stored.at(key::kKernels);
  for (Kernels kind : {Kernels::fused, Kernels::reference}) {
    if (value.is_string() && value.get<std::string>() == to_string(kind)) return kind;
  }
  fail("{}: \"{}\" must be \"fused\" or \"reference\", not {}", config_file.string(), key::kKernels,
       value.dump());
}

void truncate_metrics(const fs::path& file, std::int64_t step) {
  std::ifstream in(file);
  if (!in) return;
  std::string kept, line;
  while (std::getline(in, line)) {
    try {
      if (nlohmann::json::parse(line).at(run_files::metrics::kStep).get<std::int64_t>() <= step) {
        kept += line + "\n";
      }
    } catch (const nlohmann::json::exception&) {
      // A line torn by a crash: dropped.
    }
  }
  write_file_atomically(file, kept);
}

NewRunDirectory::~NewRunDirectory() {
  if (dir_.empty()) return;
  std::error_code ec;
  if (created_) {
    fs::remove_all(dir_, ec);
  } else {  // the user's empty directory: only what the trainer put in it
    for (const char* name : {run_files::kConfig, run_files::kMetrics, run_files::kCheckpoints,
                             run_files::kTensorBoard, run_files::kModelFile}) {
      fs::remove_all(dir_ / name, ec);
    }
  }
}

void NewRunDirectory::create(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir) && !fs::is_empty(dir, ec)) {
    if (!fs::exists(dir / run_files::kConfig)) {
      fail(
          "--out {} exists, is not empty and is not a run directory (it has no {}); choose another directory",
          dir.string(), run_files::kConfig);
    }
    fail("--out {} exists and is not empty; pass --resume to continue that run, or choose another directory",
         dir.string());
  }
  created_ = !fs::exists(dir);
  fs::create_directories(dir, ec);
  if (ec) fail("--out {}: cannot create the directory: {}", dir.string(), ec.message());
  dir_ = dir;
}

}  // namespace lab
