#pragma once
// JSON files of run directories (config.json, probe.json, metrics.jsonl): read with errors that name
// the file, so a hand-edited or truncated file is reported, never a crash.

#include <filesystem>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace lab {

// Throws lab::Error naming `path` if it cannot be read or is not valid JSON.
nlohmann::json read_json_file(const std::filesystem::path& path);

// One JSON value per non-empty line. A last line cut short by a crash is skipped (the file is
// appended to while training); any other bad line is a lab::Error naming the file and line.
std::vector<nlohmann::json> read_jsonl_file(const std::filesystem::path& path);

}  // namespace lab
