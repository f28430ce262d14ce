// Scoring of two-hop answers (tasks/two_hop_task.h): exact match, the two cases apart (one shared
// middle, none) and balanced over them, and the error classes.
#include <cmath>
#include <map>

#include "core/error.h"
#include "core/run_files.h"
#include "generators/graph_generator.h"
#include "probes/probe.h"
#include "probes/scoring.h"
#include "tasks/two_hop_task.h"

namespace lab {
using scoring::ratio;

nlohmann::json score_two_hop_answers(const Dataset& data, const DatasetSplit& split,
                                     std::span<const std::vector<Token>> answers,
                                     std::vector<nlohmann::json>* predictions) {
  const GraphFormat format = graph_format_of(data.manifest());
  const Vocabulary& vocabulary = data.vocabulary();
  TwoHopTally tally;
  std::map<std::string, long> errors;  // error class -> examples
  for (std::size_t i = 0; i < answers.size(); ++i) {
    const ExampleView ex = split.example(i);
    const auto question = parse_graph_prompt(ex.prompt(), format);
    if (!question || ex.answer().size() != 2)
      fail("{}: example {} of split '{}' is not a two-hop example", data.dir().string(), i, split.name());
    const bool has_middle = ex.answer()[0] != graph_token::no;
    const TwoHopError error = classify_two_hop_answer(ex.answer(), answers[i], format.node_tokens);
    tally.add(has_middle, error == TwoHopError::none);
    ++errors[two_hop_error_name(error)];
    if (predictions) {
      predictions->push_back(
          {{"split", split.name()},
           {"index", i},
           {"prompt", vocabulary.render(ex.prompt())},
           {"expected", vocabulary.render(ex.answer())},
           {"decoded", vocabulary.render(answers[i])},
           {"decoded_ids", answers[i]},
           {"verdict", {{"correct", error == TwoHopError::none}, {"error", two_hop_error_name(error)}}},
           {"facts", {{"has_middle", has_middle}, {"edges", question->edges.size()}}}});
    }
  }
  const auto n = static_cast<double>(answers.size());
  nlohmann::json result;
  auto& metrics = result[run_files::probe::kMetrics];
  metrics["examples"] = answers.size();
  metrics["vertices"] = format.node_tokens;  // |V|: the width knob, for the report's d / |V| axis
  metrics["accuracy"] = tally.accuracy();
  metrics["balanced_accuracy"] = tally.balanced_accuracy();
  metrics["one_middle_accuracy"] = tally.middle_accuracy();
  metrics["no_middle_accuracy"] = tally.none_accuracy();
  metrics["one_middle_share"] = ratio(tally.middle_total, n);
  for (TwoHopError e : kTwoHopErrors) {
    if (e != TwoHopError::none)
      metrics[fmt::format("error_{}", two_hop_error_name(e))] = ratio(errors[two_hop_error_name(e)], n);
  }
  result["breakdown"]["by_case"] = {
      {"one_middle", {{"count", tally.middle_total}, {"accuracy", tally.middle_accuracy()}}},
      {"no_middle", {{"count", tally.none_total}, {"accuracy", tally.none_accuracy()}}}};
  result["errors"]["counts"] = scoring::error_counts(errors, kTwoHopErrors, two_hop_error_name);
  return result;
}

}  // namespace lab
