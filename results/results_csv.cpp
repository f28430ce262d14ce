#include "results/results_csv.h"

#include <fstream>
#include <map>

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "results/result_columns.h"

namespace lab {
namespace fs = std::filesystem;

void write_csv(const fs::path& file, const std::vector<ResultRow>& rows) {
  auto quote = [](const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  std::string csv;
  for (std::size_t i = 0; i < result_column_table().size(); ++i)
    csv += fmt::format("{}{}", i ? "," : "", result_column_table()[i].name);
  csv += "\n";
  for (const ResultRow& row : rows) {
    for (std::size_t i = 0; i < result_column_table().size(); ++i)
      csv += fmt::format("{}{}", i ? "," : "", quote(result_value(row, i)));
    csv += "\n";
  }
  write_file_atomically(file, csv);
}

std::vector<std::map<std::string, std::string>> read_results_csv(const fs::path& file) {
  std::ifstream in(file);
  if (!in)
    fail("{}: cannot open (give a results.csv, or the directory `lab report` wrote it into)", file.string());
  // RFC 4180: fields separated by commas, quoted when they hold a comma, quote or newline.
  auto split = [&](const std::string& line, std::size_t number) {
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (quoted) {
        if (c == '"' && i + 1 < line.size() && line[i + 1] == '"')
          fields.back() += '"', ++i;
        else if (c == '"')
          quoted = false;
        else
          fields.back() += c;
      } else if (c == '"') {
        quoted = true;
      } else if (c == ',') {
        fields.emplace_back();
      } else {
        fields.back() += c;
      }
    }
    if (quoted) fail("{}:{}: an unterminated quoted field", file.string(), number);
    return fields;
  };
  std::string line;
  if (!std::getline(in, line)) fail("{}: empty, no header line", file.string());
  const std::vector<std::string> header = split(line, 1);
  std::vector<std::map<std::string, std::string>> rows;
  for (std::size_t number = 2; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    auto fields = split(line, number);
    if (fields.size() != header.size()) {
      fail("{}:{}: {} fields where the header has {}", file.string(), number, fields.size(), header.size());
    }
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < header.size(); ++i) row[header[i]] = fields[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace lab
