#include "core/json_file.h"

#include <fstream>

#include "core/error.h"
#include "core/read_file.h"

namespace lab {

nlohmann::json read_json_file(const std::filesystem::path& path) {
  const std::optional<std::string> text = read_file(path);
  if (!text) fail("{}: cannot open (missing or unreadable)", path.string());
  try {
    return nlohmann::json::parse(*text);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not valid JSON ({})", path.string(), e.what());
  }
}

std::vector<nlohmann::json> read_jsonl_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) fail("{}: cannot open (missing or unreadable)", path.string());
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(std::move(line));
  }
  std::vector<nlohmann::json> values;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    try {
      values.push_back(nlohmann::json::parse(lines[i]));
    } catch (const nlohmann::json::exception& e) {
      if (i + 1 == lines.size()) break;  // a torn last line: the writer was killed mid-append
      fail("{}:{}: not valid JSON ({})", path.string(), i + 1, e.what());
    }
  }
  return values;
}

}  // namespace lab
