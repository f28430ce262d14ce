#pragma once
// Presets: one TOML file describes a grid of runs (task x data size x model family x seeds x training
// budget). load_preset() reads and checks the whole file before any run starts; every error names
// the file, the line and the key.
//
//   name = "smoke"                     # also the default output directory: runs/<name>
//   description = "..."
//   seeds = [0, 1, 2]                  # training seeds (initialisation, data order): one run each
//   predictions = true                 # keep every probed answer: RUN/predictions.jsonl (lab probe)
//   notes = ["...", "..."]             # lines `lab run` prints at its end: what to look at, and where
//
//   [train]                            # training settings of every run (TrainConfig, `lab train`)
//   steps = 300
//   lr = 3e-3
//
//   [model]                            # model settings every family starts from (ModelConfig)
//   layers = 2
//
//   [[tasks]]                          # one dataset family per entry
//   task = "phonebook"
//   entries = [1e3, 1e4]               # a list is a grid axis: one dataset per value
//   train = { steps = 600 }            # optional: training settings for this task's runs
//
//   [[models]]                         # one model family per entry: one series in the plots
//   family = "dense"
//   d_model = [32, 64, 128]
//
// Any value in [train], [model], a task or a model family may be a list; the runs are the cartesian
// product of every list, in file order. Keys are the long flag names of `lab gen`, `lab train` and
// the model flags with '_' for '-' (d_model, top_k, nodes_max, ...).

#include <concepts>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "generators/graph_generator.h"
#include "generators/phonebook_generator.h"
#include "generators/two_hop_generator.h"
#include "models/model_config.h"
#include "trainer/train_config.h"

namespace lab {

// One dataset: a task and its generator's parameters.
struct DataSpec {
  TaskKind task = TaskKind::phonebook;
  GraphParams graph;     // shortest-path, connectivity
  PhonebookParams book;  // phonebook
  TwoHopParams two_hop;  // two-hop

  nlohmann::json parameters() const;             // what identifies the dataset (task + generator parameters)
  std::string id() const;                        // "<task>-<8 hex digits of the parameters' hash>"
  std::string label() const;                     // for tables and plot panels: "phonebook 10000 entries"
  std::uint64_t train_count() const;             // training examples
  std::unique_ptr<Generator> generator() const;  // validates; lab::Error naming the bad parameter
};

// The fields of a DataSpec's task (its generator's field list, core/fields.h): the keys of a [[tasks]]
// entry besides task, and its parameters().
template <typename Spec, typename Visit>
requires std::same_as<std::remove_const_t<Spec>, DataSpec>
void visit_fields(Spec& d, Visit&& visit) {
  switch (d.task) {
    case TaskKind::phonebook:
      return visit_fields(d.book, visit);
    case TaskKind::two_hop:
      return visit_fields(d.two_hop, visit);
    case TaskKind::shortest_path:
    case TaskKind::connectivity:
      return visit_fields(d.graph, visit);
  }
}

struct RunSpec {
  std::string id;      // directory name, from a hash of everything below: stable across edits
  std::string family;  // the [[models]] entry's family
  DataSpec data;
  ModelConfig model;  // vocab_size and max_seq_len 0: taken from the dataset
  TrainConfig train;  // data_dir and out_dir are the runner's
};

struct Preset {
  std::filesystem::path file;
  std::string name;
  std::string description;
  bool predictions = false;        // each run's probe also writes RUN/predictions.jsonl
  std::vector<std::string> notes;  // printed at the end of a whole (unsharded) `lab run`
  std::vector<RunSpec> runs;
  std::string
      resolved_toml;  // the preset as run, overrides applied: `lab run` writes OUT/preset.resolved.toml
};

// Reads, expands and validates a preset. lab::Error "FILE:LINE:COL: ..." for a TOML syntax error,
// an unknown key, a wrong type, an out-of-range value or an unknown task. `overrides` are the command
// line's KEY=VALUE changes (`lab run PRESET train.steps=500 seeds=[0] models.0.d_model=[32,64]`): each
// value, parsed as TOML, replaces or adds the key at its dotted path (a number indexes [[models]] or
// [[tasks]]) before the preset is read; an error about one is reported as "cmdline: KEY: ...".
Preset load_preset(const std::filesystem::path& file, const std::vector<std::string>& overrides = {});

// `name_or_path` is a file, or the name of a shipped preset (experiments/presets/NAME.toml, looked
// up from the working directory and from the source tree the binary was built from).
std::filesystem::path find_preset(const std::string& name_or_path);

// The shipped presets' files, sorted by name.
std::vector<std::filesystem::path> shipped_presets();

}  // namespace lab
