#pragma once
// The columns of a results row, in CSV order: each column's name and the ResultRow field it reads.
// results.csv, the SQLite table `runs` and the report's table are all written from this one list.

#include <optional>
#include <string>
#include <vector>

#include "results/report.h"

namespace lab {

// The columns: name, and how to read it from a row.
struct ResultColumn {
  const char* name;
  std::string ResultRow::*text = nullptr;
  std::optional<double> ResultRow::*value = nullptr;
};

const std::vector<ResultColumn>& result_column_table();

// The error-class columns (error_*; a subset of result_column_table()), in order.
const std::vector<ResultColumn>& result_error_columns();

// A number as the CSV and the database text show it: integers without a fraction, else 6 digits.
std::string format_number(double v);

}  // namespace lab
