#include "generators/dataset_export.h"

#include <map>
#include <tuple>

#include <fmt/format.h>

#include "generators/graph_generator.h"
#include "tasks/graph_task.h"
#include "tasks/phonebook_task.h"

namespace lab {
namespace {

// The phone book's name: the prompt's characters between <bos> and ":<sep>".
std::string phonebook_name(const Dataset& dataset, const ExampleView& example) {
  auto prompt = example.prompt();
  if (prompt.size() < 3) return "";
  return dataset.vocabulary().render(prompt.subspan(1, prompt.size() - 3));
}

std::string phonebook_number(const Dataset& dataset, const ExampleView& example) {
  auto answer = example.answer();
  return dataset.vocabulary().render(answer.first(answer.empty() ? 0 : answer.size() - 1));
}

void count(std::map<int, std::uint64_t>& histogram, int key) { ++histogram[key]; }

// Histograms are JSON arrays of [value, count] pairs in increasing value.
nlohmann::json to_json(const std::map<int, std::uint64_t>& histogram) {
  nlohmann::json out = nlohmann::json::array();
  for (auto [key, n] : histogram) out.push_back({key, n});
  return out;
}

}  // namespace

nlohmann::json example_to_json(const Dataset& dataset, const ExampleView& example, std::uint64_t index) {
  const Vocabulary& vocabulary = dataset.vocabulary();
  const auto prompt = example.prompt(), answer = example.answer();
  nlohmann::json out = {{"index", index},
                        {"prompt", vocabulary.render(prompt)},
                        {"answer", vocabulary.render(answer)},
                        // The token ids the model reads, for tools that skip lab's tokenizer.
                        {"prompt_ids", std::vector<int>(prompt.begin(), prompt.end())},
                        {"answer_ids", std::vector<int>(answer.begin(), answer.end())}};
  if (is_graph_task(dataset.task())) {
    const GraphFormat format = graph_format_of(dataset.manifest());
    auto question = parse_graph_prompt(example.prompt(), format);
    if (question) {
      out["edges"] = question->edges;
      out["source"] = question->source;
      out["target"] = question->target;
    }
    if (dataset.task() == TaskKind::shortest_path) {
      if (auto path = parse_path_answer(example.answer(), format.node_tokens)) out["path"] = *path;
    } else if (dataset.task() == TaskKind::two_hop) {
      // The shared middle's label, or null when the ends share none.
      if (auto middle = parse_path_answer(example.answer(), format.node_tokens);
          middle && middle->size() == 1)
        out["middle"] = middle->front();
      else
        out["middle"] = nullptr;
    } else if (!example.answer().empty()) {
      out["connected"] = example.answer()[0] == graph_token::yes;
    }
  } else if (dataset.task() == TaskKind::phonebook) {
    out["name"] = phonebook_name(dataset, example);
    out["number"] = phonebook_number(dataset, example);
  }
  return out;
}

std::string example_to_text(const Dataset& dataset, const ExampleView& example) {
  return dataset.vocabulary().render(example.prompt()) + " => " +
         dataset.vocabulary().render(example.answer());
}

nlohmann::json dataset_statistics(const Dataset& dataset) {
  nlohmann::json out = {{"dir", dataset.dir().string()},
                        {"task", dataset.task()},
                        // informational fields: a hand-made manifest may lack them
                        {"parameters", dataset.manifest().value("parameters", nlohmann::json())},
                        {"disjointness", dataset.manifest().value("disjointness", nlohmann::json())},
                        {"vocabulary", dataset.vocabulary().texts()}};
  const bool graph = is_graph_task(dataset.task());
  const GraphFormat format = graph ? graph_format_of(dataset.manifest()) : GraphFormat{};
  if (graph) out["prompt_format"] = format.prompt_format;
  for (const std::string& name : dataset.split_names()) {
    const DatasetSplit& split = dataset.split(name);
    std::map<int, std::uint64_t> lengths, edges, hops, first_digit, digits;
    std::uint64_t yes = 0, total_tokens = 0;
    for (std::uint64_t i = 0; i < split.size(); ++i) {
      ExampleView example = split.example(i);
      count(lengths, static_cast<int>(example.tokens.size()));
      total_tokens += example.tokens.size();
      if (is_graph_task(dataset.task())) {
        count(edges, static_cast<int>(edges_in_prompt(example.prompt().size(), format)));
        if (dataset.task() == TaskKind::shortest_path) {
          count(hops, static_cast<int>(example.answer().size()) - 2);  // vertices + <eos> -> edges
        } else if (dataset.task() == TaskKind::two_hop) {
          yes += !example.answer().empty() && example.answer()[0] != graph_token::no;
        } else {
          yes += example.answer()[0] == graph_token::yes;
        }
      } else if (dataset.task() == TaskKind::phonebook) {
        std::string number = phonebook_number(dataset, example);
        if (!number.empty()) count(first_digit, number[0] - '0');
        for (char c : number) count(digits, c - '0');
      }
    }
    nlohmann::json s = {{"count", split.size()},
                        {"tokens", total_tokens},
                        {"max_length", split.max_length()},
                        {"length_histogram", to_json(lengths)}};
    if (is_graph_task(dataset.task())) s["edges_histogram"] = to_json(edges);
    if (dataset.task() == TaskKind::shortest_path) s["path_length_histogram"] = to_json(hops);
    if (dataset.task() == TaskKind::connectivity) {
      s["connected"] = yes;
      s["not_connected"] = split.size() - yes;
    }
    if (dataset.task() == TaskKind::two_hop) {
      s["one_middle"] = yes;
      s["no_middle"] = split.size() - yes;
    }
    if (dataset.task() == TaskKind::phonebook) {
      s["first_digit_histogram"] = to_json(first_digit);
      s["digit_histogram"] = to_json(digits);
    }
    out["splits"][name] = s;
  }
  return out;
}

namespace {

// "key: count (share%)" lines, with a bar, for a histogram object.
std::string format_histogram(const nlohmann::json& histogram) {
  std::uint64_t total = 0, largest = 0;
  for (const auto& pair : histogram) {
    total += pair[1].get<std::uint64_t>();
    largest = std::max(largest, pair[1].get<std::uint64_t>());
  }
  std::string out;
  for (const auto& pair : histogram) {
    int key = pair[0].get<int>();
    auto value = pair[1].get<std::uint64_t>();
    int bar =
        largest > 0 ? static_cast<int>(30.0 * static_cast<double>(value) / static_cast<double>(largest)) : 0;
    out += fmt::format("      {:>5}  {:>10}  {:5.1f}%  {}\n", key, value,
                       100.0 * value / std::max<std::uint64_t>(total, 1), std::string(bar, '#'));
  }
  return out;
}

}  // namespace

std::string format_statistics(const nlohmann::json& stats) {
  std::string out =
      fmt::format("dataset {}\n  task: {}\n  parameters: {}\n", stats.at("dir").get<std::string>(),
                  stats.at("task").get<std::string>(), stats.at("parameters").dump());
  if (stats.contains("prompt_format")) {
    const int format = stats.at("prompt_format").get<int>();
    out += fmt::format("  prompt format: {} ({})\n", format,
                       format == 1 ? "edges undelimited, u v u v ..." : "each edge as <e> u v");
  }
  // The manifest's own record (as `lab gen` wrote it): printed as it is, whatever a hand edit left.
  for (const auto& rule : stats.at("disjointness")) {
    if (!rule.is_object()) continue;
    auto text = [&](const char* key) {
      const nlohmann::json v = rule.value(key, nlohmann::json("?"));
      return v.is_string() ? v.get<std::string>() : v.dump();
    };
    out += fmt::format("  prompts of '{}' also in '{}': {}\n", text("split"), text("from"),
                       text("shared_prompts"));
  }
  for (const auto& [name, s] : stats.at("splits").items()) {
    out += fmt::format("\n  split {}: {} examples, {} tokens, longest {}\n", name,
                       s.at("count").get<std::uint64_t>(), s.at("tokens").get<std::uint64_t>(),
                       s.at("max_length").get<std::uint32_t>());
    const std::pair<const char*, const char*> sections[] = {
        {"length_histogram", "example length (tokens)"},
        {"edges_histogram", "edges per graph"},
        {"path_length_histogram", "shortest-path length (edges)"},
        {"first_digit_histogram", "first digit"},
        {"digit_histogram", "all digits"}};
    for (auto [key, title] : sections) {
      if (s.contains(key)) out += fmt::format("    {}:\n{}", title, format_histogram(s.at(key)));
    }
    const std::tuple<const char*, const char*, const char*, const char*> labels[] = {
        {"connected", "not_connected", "connected", "not connected"},
        {"one_middle", "no_middle", "one shared middle", "none"}};
    for (auto [yes_key, no_key, yes_text, no_text] : labels) {
      if (!s.contains(yes_key) || !s.contains(no_key)) continue;
      auto yes = s.at(yes_key).get<std::uint64_t>(), no = s.at(no_key).get<std::uint64_t>();
      out += fmt::format("    labels: {} {} ({:.1f}%), {} {} ({:.1f}%)\n", yes_text, yes,
                         100.0 * yes / std::max<std::uint64_t>(yes + no, 1), no_text, no,
                         100.0 * no / std::max<std::uint64_t>(yes + no, 1));
    }
  }
  const auto& vocabulary = stats.at("vocabulary");
  out += fmt::format("\n  vocabulary ({} tokens): ", vocabulary.size());
  for (std::size_t i = 0; i < vocabulary.size(); ++i) {
    out += fmt::format("{}{}='{}'", i > 0 ? " " : "", i, vocabulary[i].get<std::string>());
  }
  return out + "\n";
}

}  // namespace lab
