#pragma once
// The table `lab report` prints: one line per model and training budget, mean over seeds.

#include <vector>

#include "results/report.h"

namespace lab {

// Rows by (task, dataset, family, active, total, seed, id): the order of the CSV and the table.
bool row_order(const ResultRow& a, const ResultRow& b);

// Prints the table of `rows` (in row_order) to standard output.
void print_table(const std::vector<ResultRow>& rows);

}  // namespace lab
