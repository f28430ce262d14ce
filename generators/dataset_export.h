#pragma once
// Examples of a dataset as text and JSON, for people and other tools (`lab export`), and a
// dataset's statistics (`lab inspect`).

#include <string>

#include <nlohmann/json.hpp>

#include "generators/dataset_reader.h"

namespace lab {

// {"index", "prompt", "answer"} as text, plus the task's fields as integers and strings: graph tasks
// "edges" [[u, v], ...], "source", "target", and "path" or "connected"; the phone book "name", "number".
nlohmann::json example_to_json(const Dataset& dataset, const ExampleView& example, std::uint64_t index);

// One line: the prompt, " => ", the answer ("<bos> 3 7 <q> 3 7 <sep> => 3 7 <eos>").
std::string example_to_text(const Dataset& dataset, const ExampleView& example);

// Per split: counts, a length histogram, and the task's distributions (path lengths, labels, digits);
// plus the vocabulary. Reads every example once.
nlohmann::json dataset_statistics(const Dataset& dataset);

// The statistics as a human-readable report.
std::string format_statistics(const nlohmann::json& statistics);

}  // namespace lab
