#pragma once
// Probes: what a trained model remembers and how well it reasons (SCIENCE.md, TASKS.md).
//
//   phonebook      recall of the test queries (names copied from the book): exact and per-digit;
//                  the same on the control names (never in the book: the guessing baseline); the
//                  bits stored, estimated as recall x book size x bits per number, per total and
//                  per active parameter
//   shortest-path  held-out `valid` (a shortest path of the graph) and `exact` (the stored path),
//                  by graph size and by path length
//   connectivity   held-out accuracy and balanced accuracy, by graph size
//   two-hop        held-out accuracy, on one shared middle and on none apart, and balanced
//   MoE routers    per layer: tokens per expert, load imbalance (max / mean), routing entropy
//
// Answers come from greedy decoding (probes/decode.h). `probe.json` holds everything; its "metrics"
// object is flat (name -> number) so reports and metrics.jsonl can take it as is.

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "generators/dataset_reader.h"
#include "models/transformer.h"
#include "probes/decode.h"
#include "trainer/trainer.h"

namespace lab {

struct ProbeOptions {
  DecodeOptions decode;
  std::int64_t limit = 0;             // examples probed per split (the first ones); 0 = the whole split
  std::filesystem::path predictions;  // probe_run: also write every decoded answer here (JSON lines)
};

// log2 of the number of possible phone numbers (first digit 6-9, nine more digits): the information
// one memorized entry holds.
double bits_per_phone_number();

// Scores answers already decoded for the first answers.size() examples of `split`. Separate from
// decoding so scoring is testable with known answers. Returns {"metrics": {...}, "breakdown": {...},
// "errors": {...}}: metrics flat; errors counts examples per error class (tasks/graph_task.h), overall
// and by graph size and path length, and the hop of the first non-edge of wrong paths. With
// `predictions`, appends one object per example: split, index, prompt, expected and decoded answer
// (text; decoded also as ids), the verdict of every metric, and the example's facts.
nlohmann::json score_graph_answers(const Dataset& data, const DatasetSplit& split,
                                   std::span<const std::vector<Token>> answers,
                                   std::vector<nlohmann::json>* predictions = nullptr);
// Two-hop: exact match ("accuracy"), balanced over the two cases, each case apart, the share of each
// error class (tasks/two_hop_task.h). Predictions as for the graph tasks.
nlohmann::json score_two_hop_answers(const Dataset& data, const DatasetSplit& split,
                                     std::span<const std::vector<Token>> answers,
                                     std::vector<nlohmann::json>* predictions = nullptr);
// Recall of the test split and of the control split; `parameters` = {"total": N, "active": N}. Its
// errors, per split: exact / wrong digits / malformed, how many digits are wrong, at which positions.
nlohmann::json score_phonebook_answers(const Dataset& data, std::span<const std::vector<Token>> test_answers,
                                       std::span<const std::vector<Token>> control_answers,
                                       const nlohmann::json& parameters,
                                       std::vector<nlohmann::json>* predictions = nullptr);

// Router statistics of a tally: one object per MoE layer.
nlohmann::json router_statistics(const RouterTally& tally);

// Decodes and scores the dataset's held-out splits with `model` (and collects `predictions`, if given).
nlohmann::json probe_model(Transformer& model, const Dataset& data, const ProbeOptions& options,
                           std::vector<nlohmann::json>* predictions = nullptr);

// Trainer hooks that probe the first `examples` examples of each held-out split every
// TrainConfig::probe_every steps, so accuracy curves appear in metrics.jsonl.
TrainHooks periodic_probe_hooks(std::int64_t examples);

// Probes a run directory's newest checkpoint (or `checkpoint`), writes RUN/probe.json atomically and
// returns it; with options.predictions, also that file (JSON lines, atomically). lab::Error if the run has no
// checkpoint or its dataset is missing or changed.
nlohmann::json probe_run(const std::filesystem::path& run_dir, const ProbeOptions& options,
                         const std::filesystem::path& checkpoint = {});

}  // namespace lab
