// Scoring of shortest-path and connectivity answers (tasks/graph_task.h): valid / exact / first-hop
// paths and connectivity accuracy, by graph size and path length, and the error classes.
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "core/run_files.h"
#include "generators/graph_generator.h"
#include "probes/probe.h"
#include "probes/scoring.h"
#include "tasks/graph_task.h"

namespace lab {
namespace {

using scoring::error_counts;
using scoring::ratio;

// The vertices a prompt shows: the labels of its edges and of the query (isolated vertices that are
// not queried never appear in a prompt, so this is the graph size the model can see).
int nodes_in_prompt(const GraphQuestion& q) {
  std::set<int> labels{q.source, q.target};
  for (auto [u, v] : q.edges) labels.insert({u, v});
  return static_cast<int>(labels.size());
}

}  // namespace

nlohmann::json score_graph_answers(const Dataset& data, const DatasetSplit& split,
                                   std::span<const std::vector<Token>> answers,
                                   std::vector<nlohmann::json>* predictions) {
  const GraphFormat format = graph_format_of(data.manifest());
  const Vocabulary& vocabulary = data.vocabulary();
  const bool shortest = data.task() == TaskKind::shortest_path;
  struct Cell {
    long count = 0, valid = 0, exact = 0, first_hop = 0;
    std::map<std::string, long> errors;  // error class -> examples
  };
  std::map<int, Cell> by_nodes, by_length;  // shortest path: valid/exact; connectivity: valid = correct
  std::map<int, long> first_bad_hop;        // shortest path: hop of the first non-edge -> examples
  Cell all;
  ConnectivityTally tally;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    ExampleView ex = split.example(i);
    auto question = parse_graph_prompt(ex.prompt(), format);
    if (!question)
      fail("{}: example {} of split '{}' is not a graph prompt", data.dir().string(), i, split.name());
    const int nodes = nodes_in_prompt(*question);
    const int distance = static_cast<int>(ex.answer().size()) - 2;  // vertices + <eos> -> edges
    nlohmann::json verdict;
    if (shortest) {
      const PathScore s = score_shortest_path(*question, ex.answer(), answers[i]);
      const PathVerdict v = classify_path_answer(*question, ex.answer(), answers[i]);
      const std::string error = path_error_name(v.error);
      for (Cell* c : {&all, &by_nodes[nodes], &by_length[distance]}) {
        ++c->count;
        c->valid += s.valid;
        c->exact += s.exact;
        c->first_hop += s.first_hop;
        ++c->errors[error];
      }
      if (v.first_bad_hop > 0) ++first_bad_hop[v.first_bad_hop];
      verdict = {{"valid", s.valid}, {"exact", s.exact}, {"first_hop", s.first_hop}, {"error", error}};
      if (v.first_bad_hop > 0) verdict["first_bad_hop"] = v.first_bad_hop;
    } else {
      const bool correct = score_connectivity(ex.answer(), answers[i]);
      const std::string error =
          connectivity_error_name(classify_connectivity_answer(ex.answer(), answers[i]));
      tally.add(ex.answer().front() == graph_token::yes, correct);
      for (Cell* c : {&all, &by_nodes[nodes]}) {
        ++c->count;
        c->valid += correct;
        ++c->errors[error];
      }
      verdict = {{"correct", correct}, {"error", error}};
    }
    if (predictions) {
      nlohmann::json facts = {{"nodes", nodes}, {"edges", question->edges.size()}};
      if (shortest) {
        facts["distance"] = distance;
        facts["shortest_paths"] = count_shortest_paths(*question);
      } else {
        facts["connected"] = ex.answer().front() == graph_token::yes;
      }
      predictions->push_back({{"split", split.name()},
                              {"index", i},
                              {"prompt", vocabulary.render(ex.prompt())},
                              {"expected", vocabulary.render(ex.answer())},
                              {"decoded", vocabulary.render(answers[i])},
                              {"decoded_ids", answers[i]},
                              {"verdict", verdict},
                              {"facts", facts}});
    }
  }
  const auto n = static_cast<double>(answers.size());
  nlohmann::json result;
  auto& metrics = result[run_files::probe::kMetrics];
  auto& breakdown = result["breakdown"];
  auto& errors = result["errors"];
  metrics["examples"] = answers.size();
  if (shortest) {
    auto counts = [](const Cell& c) { return error_counts(c.errors, kPathErrors, path_error_name); };
    metrics["path_valid"] = ratio(all.valid, n);
    metrics["path_exact"] = ratio(all.exact, n);
    metrics["path_first_hop"] = ratio(all.first_hop, n);
    metrics["accuracy"] = metrics["path_valid"];
    for (PathError e : kPathErrors) {
      if (e != PathError::none)
        metrics[fmt::format("error_{}", path_error_name(e))] = ratio(all.errors[path_error_name(e)], n);
    }
    auto cell_json = [&](const Cell& c) {
      return nlohmann::json{{"count", c.count},
                            {"valid", ratio(c.valid, c.count)},
                            {"exact", ratio(c.exact, c.count)},
                            {"first_hop", ratio(c.first_hop, c.count)}};
    };
    for (const auto& [nodes, c] : by_nodes) breakdown["by_nodes"][std::to_string(nodes)] = cell_json(c);
    for (const auto& [edges, c] : by_length)
      breakdown["by_path_length"][std::to_string(edges)] = cell_json(c);
    errors["counts"] = counts(all);
    for (const auto& [nodes, c] : by_nodes) errors["by_nodes"][std::to_string(nodes)] = counts(c);
    for (const auto& [edges, c] : by_length) errors["by_path_length"][std::to_string(edges)] = counts(c);
    errors["first_bad_hop"] = nlohmann::json::object();
    for (const auto& [hop, count] : first_bad_hop) errors["first_bad_hop"][std::to_string(hop)] = count;
  } else {
    auto counts = [](const Cell& c) {
      return error_counts(c.errors, kConnectivityErrors, connectivity_error_name);
    };
    metrics["accuracy"] = tally.accuracy();
    metrics["balanced_accuracy"] = tally.balanced_accuracy();
    metrics["connected_share"] = ratio(tally.yes_total, n);
    for (ConnectivityError e : kConnectivityErrors) {
      if (e != ConnectivityError::none) {
        metrics[fmt::format("error_{}", connectivity_error_name(e))] =
            ratio(all.errors[connectivity_error_name(e)], n);
      }
    }
    // The balanced figures: how often each label is answered wrongly, among the pairs that carry it.
    metrics["false_yes_rate"] = ratio(all.errors["false_yes"], tally.no_total);
    metrics["false_no_rate"] = ratio(all.errors["false_no"], tally.yes_total);
    for (const auto& [nodes, c] : by_nodes) {
      breakdown["by_nodes"][std::to_string(nodes)] = {{"count", c.count},
                                                      {"accuracy", ratio(c.valid, c.count)}};
    }
    breakdown["by_label"] = {
        {"yes", {{"count", tally.yes_total}, {"recall", ratio(tally.yes_correct, tally.yes_total)}}},
        {"no", {{"count", tally.no_total}, {"recall", ratio(tally.no_correct, tally.no_total)}}}};
    errors["counts"] = counts(all);
    for (const auto& [nodes, c] : by_nodes) errors["by_nodes"][std::to_string(nodes)] = counts(c);
  }
  return result;
}

}  // namespace lab
