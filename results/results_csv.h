#pragma once
// results.csv: the rows in the columns of results/result_columns.h (RFC 4180 quoting), written
// atomically; read_results_csv (results/report.h) reads it back.

#include <filesystem>
#include <vector>

#include "results/report.h"

namespace lab {

void write_csv(const std::filesystem::path& file, const std::vector<ResultRow>& rows);

}  // namespace lab
