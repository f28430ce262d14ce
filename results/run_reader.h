#pragma once
// Finding run directories under a report directory (read_run, which reads one, is declared in
// results/report.h).

#include <filesystem>
#include <vector>

namespace lab {

// Every directory holding config.json under `dir` (itself included), up to three levels down, not
// inside checkpoints/, datasets/ or plots/; sorted.
std::vector<std::filesystem::path> find_runs(const std::filesystem::path& dir);

}  // namespace lab
