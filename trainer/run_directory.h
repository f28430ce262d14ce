#pragma once
// The trainer's side of the run directory (core/run_files.h has the format): creating a new one so
// that a failed start leaves nothing, reading back how a resumed run was computed, and trimming its
// metrics to the checkpoint it resumes from.

#include <cstdint>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "models/kernels.h"

namespace lab {

// How a run was computed: data-parallel workers and LibTorch threads per worker. Both change the
// order of floating-point sums, so a resumed run is bit-identical to an uninterrupted one only on the
// same; train() stores them in config.json and restores the threads, `lab train --resume` the workers.
struct RunParallelism {
  int workers = 1;
  int threads = 1;  // per worker
};

// What RUN/config.json records; nullopt when the run has no config.json or predates the record.
// Throws lab::Error when config.json exists but cannot be read.
std::optional<RunParallelism> stored_parallelism(const std::filesystem::path& run_dir);

// The "parallelism" record of a config.json's content `stored`, read from `config_file` (named in
// errors); nullopt for runs from before it was stored.
std::optional<RunParallelism> parallelism_of(const nlohmann::json& stored,
                                             const std::filesystem::path& config_file);

// The kernels a run was trained with (config.json "kernels"); runs from before it was recorded were
// trained by the plain LibTorch composition, which `reference` reproduces bit for bit.
Kernels kernels_of(const nlohmann::json& stored, const std::filesystem::path& config_file);

// Rewrites metrics.jsonl without the lines logged after `step` (a resumed run logs them again) and
// without a line torn by a crash.
void truncate_metrics(const std::filesystem::path& file, std::int64_t step);

// What train() created in a new run directory, removed again if training fails before its first step
// completes, so that the same command can be retried (a run directory that exists is refused).
class NewRunDirectory {
 public:
  NewRunDirectory() = default;
  NewRunDirectory(const NewRunDirectory&) = delete;
  NewRunDirectory& operator=(const NewRunDirectory&) = delete;
  ~NewRunDirectory();
  // Creates `dir` (which must be empty or absent: lab::Error otherwise) and arms the cleanup.
  void create(const std::filesystem::path& dir);
  void keep() { dir_.clear(); }  // the first step is done: the run exists

 private:
  std::filesystem::path dir_;
  bool created_ = false;
};

}  // namespace lab
