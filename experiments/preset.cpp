#include "experiments/preset.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "core/crc32c.h"
#include "core/error.h"
#include "models/model_config_json.h"

#ifndef LAB_SOURCE_DIR
#define LAB_SOURCE_DIR "."
#endif

namespace lab {
namespace fs = std::filesystem;
namespace {

// --- reading values, with errors that point into the file -------------------------------------------

struct Where {
  const fs::path* file;
  toml::source_region region;
};

template <typename... Args>
[[noreturn]] void fail_at(const Where& where, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format("{}:{}:{}: {}", where.file->string(), where.region.begin.line,
                          where.region.begin.column, fmt::format(format, std::forward<Args>(args)...)));
}

// A value as the user wrote it, for messages and run identities: 3, 0.5, "rope", true, a list.
std::string show(const toml::node& node) {
  if (auto v = node.value_exact<std::int64_t>()) return std::to_string(*v);
  if (auto v = node.value_exact<double>()) return fmt::format("{}", *v);
  if (auto v = node.value_exact<bool>()) return *v ? "true" : "false";
  if (auto v = node.value_exact<std::string>()) return fmt::format("\"{}\"", *v);
  if (node.is_array()) return "a list";
  if (node.is_table()) return "a table";
  return "a date or time";
}

// One key set to one scalar value.
struct Setting {
  std::string key;
  const toml::node* value;
  const fs::path* file;

  Where where() const { return {file, value->source()}; }

  std::int64_t integer(std::int64_t min, std::int64_t max = INT64_MAX) const {
    std::int64_t v = 0;
    if (auto i = value->value_exact<std::int64_t>()) {
      v = *i;
    } else if (auto d = value->value_exact<double>();
               d && std::isfinite(*d) && *d == std::floor(*d) && std::abs(*d) < 9.2e18) {
      v = static_cast<std::int64_t>(*d);  // 1e5 is a TOML float; a whole one is accepted as a count
    } else {
      fail_at(where(), "'{}' must be a whole number, got {}", key, describe());
    }
    if (v < min || v > max) {
      if (max == INT64_MAX) fail_at(where(), "'{}' must be at least {}, got {}", key, min, v);
      fail_at(where(), "'{}' must be between {} and {}, got {}", key, min, max, v);
    }
    return v;
  }
  double real(double min, double max = HUGE_VAL) const {
    auto d = value->value<double>();  // integers convert
    if (!d || !value->is_number()) fail_at(where(), "'{}' must be a number, got {}", key, describe());
    if (!std::isfinite(*d) || *d < min || *d > max) {
      if (max == HUGE_VAL) fail_at(where(), "'{}' must be at least {}, got {}", key, min, *d);
      fail_at(where(), "'{}' must be between {} and {}, got {}", key, min, max, *d);
    }
    return *d;
  }
  bool boolean() const {
    auto b = value->value_exact<bool>();
    if (!b) fail_at(where(), "'{}' must be true or false, got {}", key, describe());
    return *b;
  }
  std::string text() const {
    auto s = value->value_exact<std::string>();
    if (!s) fail_at(where(), "'{}' must be a string, got {}", key, describe());
    return *s;
  }
  // The value for `field` (core/fields.h), of the field's type and within its range.
  template <typename T>
  T as(const Field& field) const {
    if constexpr (std::same_as<T, bool>) {
      return boolean();
    } else if constexpr (std::same_as<T, std::string>) {
      return text();
    } else if constexpr (NamedEnum<T>) {
      const std::string s = text();
      if (auto v = enum_from_name<T>(s)) return *v;
      fail_at(where(), "'{}' must be {}, got \"{}\"", key, enum_name_list(T{}), s);
    } else {
      T v;
      if constexpr (std::is_integral_v<T>)
        v = static_cast<T>(integer(INT64_MIN));
      else
        v = real(-HUGE_VAL);
      if (std::string e = field.range_error(v); !e.empty()) fail_at(where(), "'{}' {}", key, e);
      return v;
    }
  }
  std::string describe() const { return show(*value); }
};

template <typename Config>
using Setters = std::map<std::string, std::function<void(Config&, const Setting&)>>;

// The preset keys of a struct with a field list (TrainConfig, ModelConfig): its fields that presets
// may set, each with the field's type and range.
template <typename Config>
Setters<Config> field_setters() {
  Setters<Config> setters;
  const Config defaults{};
  visit_fields(defaults, [&setters]<typename T>(const T&, const Field& field) {
    if (!field.in_presets()) return;
    setters[std::string(field.name())] = [](Config& c, const Setting& s) {
      visit_fields(c, [&s]<typename U>(U& value, const Field& f) {
        if (f.name() == s.key) value = s.template as<U>(f);
      });
    };
  });
  return setters;
}

const Setters<TrainConfig>& train_setters() {
  static const Setters<TrainConfig> setters = field_setters<TrainConfig>();
  return setters;
}

const Setters<ModelConfig>& model_setters() {
  static const Setters<ModelConfig> setters = field_setters<ModelConfig>();
  return setters;
}

const Setters<DataSpec>& data_setters() {
  auto random_graph_only = [](const Setting& s, const DataSpec& d) {
    if (d.task != TaskKind::shortest_path && d.task != TaskKind::connectivity) {
      fail_at(s.where(), "'{}' is a key of the random-graph tasks (shortest-path, connectivity); task \"{}\" has "
              "no such key", s.key, enum_name(d.task));
    }
  };
  auto two_hop_only = [](const Setting& s, const DataSpec& d) {
    if (d.task != TaskKind::two_hop)
      fail_at(s.where(), "'{}' is a two-hop key; task \"{}\" has no such key", s.key, enum_name(d.task));
  };
  auto book_only = [](const Setting& s, const DataSpec& d) {
    if (d.task != TaskKind::phonebook)
      fail_at(s.where(), "'{}' is a phonebook key; task \"{}\" has no such key", s.key, enum_name(d.task));
  };
  static const Setters<DataSpec> setters = {
      {"seed",
       [](DataSpec& d, const Setting& s) {
         d.graph.seed = d.book.seed = d.two_hop.seed = static_cast<std::uint64_t>(s.integer(0));
       }},
      {"test_count",
       [](DataSpec& d, const Setting& s) {
         d.graph.test_count = d.book.test_count = d.two_hop.test_count =
             static_cast<std::uint64_t>(s.integer(1, 1'000'000'000));
       }},
      {"entries",
       [=](DataSpec& d, const Setting& s) {
         book_only(s, d);
         d.book.entries = static_cast<std::uint64_t>(s.integer(1, 1'000'000'000));
       }},
      {"control_count",
       [=](DataSpec& d, const Setting& s) {
         book_only(s, d);
         d.book.control_count = static_cast<std::uint64_t>(s.integer(1, 1'000'000'000));
       }},
      {"count",
       [=](DataSpec& d, const Setting& s) {
         if (!is_graph_task(d.task))
           fail_at(s.where(), "'count' is a graph-task key; task \"{}\" has no such key", enum_name(d.task));
         d.graph.train_count = d.two_hop.train_count = static_cast<std::uint64_t>(s.integer(1, 1'000'000'000));
       }},
      {"vertices",
       [=](DataSpec& d, const Setting& s) {
         two_hop_only(s, d);
         d.two_hop.vertices = static_cast<int>(s.integer(4, 1024));
       }},
      {"nodes_min",
       [=](DataSpec& d, const Setting& s) {
         random_graph_only(s, d);
         d.graph.nodes_min = static_cast<int>(s.integer(2, 60000));
       }},
      {"nodes_max",
       [=](DataSpec& d, const Setting& s) {
         random_graph_only(s, d);
         d.graph.nodes_max = static_cast<int>(s.integer(2, 60000));
       }},
      {"node_tokens",
       [=](DataSpec& d, const Setting& s) {
         random_graph_only(s, d);
         d.graph.node_tokens = static_cast<int>(s.integer(2, graph_token::max_labels));
       }},
      {"degree",
       [=](DataSpec& d, const Setting& s) {
         if (d.task == TaskKind::two_hop) {
           d.two_hop.degree = static_cast<int>(s.integer(0, 512));  // 0: |V| / 8
         } else {
           random_graph_only(s, d);
           d.graph.degree = s.real(1e-9, 1e6);
         }
       }},
      {"prompt_format",
       [=](DataSpec& d, const Setting& s) {
         random_graph_only(s, d);
         d.graph.prompt_format = static_cast<int>(s.integer(1, 2));
       }},
      {"unique_paths",
       [=](DataSpec& d, const Setting& s) {
         if (d.task != TaskKind::shortest_path)
           fail_at(s.where(), "'unique_paths' is a shortest-path key; task \"{}\" has no such key",
                   enum_name(d.task));
         d.graph.unique_paths = s.boolean();
       }},
  };
  return setters;
}

// --- grids ---------------------------------------------------------------------------------------------

// The keys of one table, each with its alternatives (one value, or a list: a grid axis).
struct Axis {
  std::string key;
  std::vector<const toml::node*> values;
};
using Section = std::vector<Axis>;

// Later settings of the same key replace earlier ones ([model] defaults, then the family's keys).
void merge(Section& into, const Section& from) {
  for (const Axis& axis : from) {
    auto it = std::find_if(into.begin(), into.end(), [&](const Axis& a) { return a.key == axis.key; });
    if (it != into.end())
      *it = axis;
    else
      into.push_back(axis);
  }
}

template <typename Config>
Section read_section(const toml::table& table, const fs::path& file, const Setters<Config>& setters,
                     const std::set<std::string>& reserved, std::string_view what) {
  Section section;
  for (const auto& [key_view, node] : table) {
    const std::string key(key_view.str());
    if (reserved.contains(key)) continue;
    if (!setters.contains(key)) {
      std::string known;
      for (const auto& [name, _] : setters) known += (known.empty() ? "" : ", ") + name;
      fail_at(Where{&file, node.source()}, "unknown key '{}' in {} (known keys: {})", key, what, known);
    }
    Axis axis{key, {}};
    if (const toml::array* list = node.as_array()) {
      if (list->empty())
        fail_at(Where{&file, node.source()}, "'{}' is an empty list; give at least one value", key);
      for (const toml::node& value : *list) {
        if (!value.is_value())
          fail_at(Where{&file, value.source()}, "'{}' lists must hold plain values", key);
        axis.values.push_back(&value);
      }
    } else if (node.is_value()) {
      axis.values.push_back(&node);
    } else {
      fail_at(Where{&file, node.source()}, "'{}' must be a value or a list of values, not a table", key);
    }
    section.push_back(std::move(axis));
  }
  return section;
}

// Every combination of the axes' values, the first axis varying slowest.
std::vector<std::vector<Setting>> expand(const Section& section, const fs::path& file) {
  std::vector<std::vector<Setting>> combos{{}};
  for (const Axis& axis : section) {
    std::vector<std::vector<Setting>> next;
    for (const auto& combo : combos) {
      for (const toml::node* value : axis.values) {
        next.push_back(combo);
        next.back().push_back(Setting{axis.key, value, &file});
      }
    }
    combos = std::move(next);
  }
  return combos;
}

template <typename Config>
void apply(Config& config, const std::vector<Setting>& settings, const Setters<Config>& setters) {
  for (const Setting& s : settings) setters.at(s.key)(config, s);
}

const toml::table* optional_table(const toml::table& parent, std::string_view key, const fs::path& file) {
  const toml::node* node = parent.get(key);
  if (!node) return nullptr;
  if (!node->is_table()) fail_at(Where{&file, node->source()}, "'{}' must be a table", key);
  return node->as_table();
}

const toml::array& table_array(const toml::table& root, std::string_view key, const fs::path& file) {
  const toml::node* node = root.get(key);
  if (!node) fail("{}: no [[{}]] entries; a preset needs at least one", file.string(), key);
  const toml::array* list = node->as_array();
  if (!list || list->empty() || !list->is_array_of_tables()) {
    fail_at(Where{&file, node->source()}, "'{}' must be one or more [[{}]] tables", key, key);
  }
  return *list;
}

std::string hex8(std::uint32_t v) { return fmt::format("{:08x}", v); }

std::uint32_t hash_json(const nlohmann::json& j) {
  const std::string text = j.dump();
  return crc32c(0, text.data(), text.size());
}

// Letters, digits, '-', '.' and '_' only: safe in a directory name.
std::string safe_name(const std::string& s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.') ? c : '_';
  return out;
}

nlohmann::json settings_json(const std::vector<Setting>& settings) {
  nlohmann::json j = nlohmann::json::object();
  for (const Setting& s : settings) {
    j[s.key] = show(*s.value);
  }
  return j;
}

}  // namespace

nlohmann::json DataSpec::parameters() const {
  nlohmann::json p = {{"task", enum_name(task)}};
  if (task == TaskKind::phonebook) {
    p.update({{"seed", book.seed},
              {"entries", book.entries},
              {"test_count", book.test_count},
              {"control_count", book.control_count}});
  } else if (task == TaskKind::two_hop) {
    p.update({{"seed", two_hop.seed},
              {"count", two_hop.train_count},
              {"test_count", two_hop.test_count},
              {"vertices", two_hop.vertices},
              {"degree", two_hop.resolved_degree()}});
  } else {
    p.update({{"seed", graph.seed},
              {"count", graph.train_count},
              {"test_count", graph.test_count},
              {"nodes_min", graph.nodes_min},
              {"nodes_max", graph.nodes_max},
              {"node_tokens", graph.node_tokens},
              {"prompt_format", graph.prompt_format},
              {"degree", graph.degree}});
    if (task == TaskKind::shortest_path) p["unique_paths"] = graph.unique_paths;
  }
  return p;
}

std::string DataSpec::id() const {
  return fmt::format("{}-{}", enum_name(task), hex8(hash_json(parameters())));
}

std::string DataSpec::label() const {
  if (task == TaskKind::phonebook) return fmt::format("phonebook, {} entries", book.entries);
  if (task == TaskKind::two_hop)
    return fmt::format("two-hop, {} vertices, {} examples", two_hop.vertices, two_hop.train_count);
  return fmt::format("{}, {}-{} nodes, {} examples", enum_name(task), graph.nodes_min, graph.nodes_max,
                     graph.train_count);
}

std::uint64_t DataSpec::train_count() const {
  switch (task) {
    case TaskKind::phonebook: return book.entries;
    case TaskKind::two_hop: return two_hop.train_count;
    case TaskKind::shortest_path:
    case TaskKind::connectivity: return graph.train_count;
  }
  return 0;
}

std::unique_ptr<Generator> DataSpec::generator() const {
  switch (task) {
    case TaskKind::phonebook: return std::make_unique<PhonebookGenerator>(book);
    case TaskKind::two_hop: return std::make_unique<TwoHopGenerator>(two_hop);
    case TaskKind::shortest_path:
    case TaskKind::connectivity: return std::make_unique<GraphGenerator>(graph);
  }
  return nullptr;
}

Preset load_preset(const fs::path& file) {
  toml::table root;
  try {
    root = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    if (!fs::exists(file)) fail("{}: no such preset file", file.string());
    fail("{}:{}:{}: {}", file.string(), e.source().begin.line, e.source().begin.column, e.description());
  }

  Preset preset;
  preset.file = file;
  std::vector<std::int64_t> seeds{0};
  for (const auto& [key_view, node] : root) {
    const std::string key(key_view.str());
    Where where{&file, node.source()};
    if (key == "name") {
      preset.name = Setting{key, &node, &file}.text();
      if (preset.name.empty() || safe_name(preset.name) != preset.name) {
        fail_at(where, "'name' must be letters, digits, '-', '.' or '_' (it names the output directory)");
      }
    } else if (key == "description") {
      preset.description = Setting{key, &node, &file}.text();
    } else if (key == "predictions") {
      preset.predictions = Setting{key, &node, &file}.boolean();
    } else if (key == "notes") {
      const toml::array* list = node.as_array();
      if (!list) fail_at(where, "'notes' must be a list of strings, the lines `lab run` prints at its end");
      for (const toml::node& line : *list) preset.notes.push_back(Setting{"notes", &line, &file}.text());
    } else if (key == "seeds") {
      const toml::array* list = node.as_array();
      if (!list || list->empty())
        fail_at(where, "'seeds' must be a non-empty list of whole numbers, e.g. [0, 1, 2]");
      seeds.clear();
      for (const toml::node& s : *list) seeds.push_back(Setting{"seeds", &s, &file}.integer(0));
    } else if (key != "train" && key != "model" && key != "tasks" && key != "models") {
      fail_at(where,
              "unknown top-level key '{}' (known: name, description, seeds, predictions, notes, [train], "
              "[model], [[tasks]], [[models]])",
              key);
    }
  }
  if (preset.name.empty()) preset.name = safe_name(file.stem().string());

  Section train_defaults, model_defaults;
  if (const toml::table* t = optional_table(root, "train", file))
    train_defaults = read_section(*t, file, train_setters(), {}, "[train]");
  if (const toml::table* t = optional_table(root, "model", file))
    model_defaults = read_section(*t, file, model_setters(), {}, "[model]");

  const toml::array& tasks = table_array(root, "tasks", file);
  const toml::array& models = table_array(root, "models", file);

  for (const toml::node& task_node : tasks) {
    const toml::table& task_table = *task_node.as_table();
    const Where task_where{&file, task_node.source()};
    const toml::node* task_name = task_table.get("task");
    if (!task_name) fail_at(task_where, "a [[tasks]] entry needs task = {}", enum_name_list(TaskKind{}));
    const std::string name = Setting{"task", task_name, &file}.text();
    const std::optional<TaskKind> task = enum_from_name<TaskKind>(name);
    if (!task) {
      fail_at(Where{&file, task_name->source()}, "unknown task \"{}\"; the tasks are {}", name,
              enum_name_list(TaskKind{}));
    }
    DataSpec base;
    base.task = *task;
    // lab gen's defaults, but for the training set's size:
    if (*task == TaskKind::shortest_path || *task == TaskKind::connectivity) {
      base.graph = graph_defaults(*task);
      base.graph.train_count = 100'000;
    }
    base.two_hop.train_count = 100'000;
    const Section data_axes =
        read_section(task_table, file, data_setters(), {"task", "train"}, "a [[tasks]] entry");
    Section task_train = train_defaults;
    if (const toml::table* t = optional_table(task_table, "train", file)) {
      merge(task_train, read_section(*t, file, train_setters(), {}, "a task's train table"));
    }

    for (const auto& data_settings : expand(data_axes, file)) {
      DataSpec data = base;
      apply(data, data_settings, data_setters());
      // As with `lab gen phonebook`: the default 1000 recall queries shrink to a smaller book.
      const bool explicit_queries = std::any_of(data_settings.begin(), data_settings.end(),
                                                [](const Setting& s) { return s.key == "test_count"; });
      if (data.task == TaskKind::phonebook && !explicit_queries)
        data.book.test_count = std::min(data.book.test_count, data.book.entries);
      try {
        data.generator();
      } catch (const Error& e) {
        fail_at(task_where, "[[tasks]] entry \"{}\": {}", enum_name(data.task), e.what());
      }

      for (const toml::node& model_node : models) {
        const toml::table& model_table = *model_node.as_table();
        const Where model_where{&file, model_node.source()};
        std::string family;
        if (const toml::node* f = model_table.get("family")) family = Setting{"family", f, &file}.text();
        Section model_axes = model_defaults;
        merge(model_axes,
              read_section(model_table, file, model_setters(), {"family", "train"}, "a [[models]] entry"));
        Section train_axes = task_train;
        if (const toml::table* t = optional_table(model_table, "train", file)) {
          merge(train_axes, read_section(*t, file, train_setters(), {}, "a model family's train table"));
        }

        for (const auto& model_settings : expand(model_axes, file)) {
          ModelConfig model;
          apply(model, model_settings, model_setters());
          infer_ffn_kind(model);  // as on the command line: experts or granularity make an MoE
          if (family.empty()) family = std::string(to_string(model.ffn));
          ModelConfig check = model;  // the dataset sets these two; any positive value validates the rest
          check.vocab_size = 64;
          check.max_seq_len = 64;
          try {
            check.validate();
          } catch (const Error& e) {
            fail_at(model_where, "[[models]] family \"{}\": {}", family, e.what());
          }
          model.vocab_size = 0;
          model.max_seq_len = 0;

          for (const auto& train_settings : expand(train_axes, file)) {
            TrainConfig train;
            apply(train, train_settings, train_setters());
            try {
              TrainConfig check = train;  // the runner sets the directories
              check.data_dir = check.out_dir = "-";
              check.validate();
            } catch (const Error& e) {
              fail_at(model_where, "training settings of family \"{}\" on {}: {}", family,
                      enum_name(data.task), e.what());
            }
            for (std::int64_t seed : seeds) {
              train.seed = static_cast<std::uint64_t>(seed);
              RunSpec run{"", family, data, model, train};
              const nlohmann::json identity = {{"data", data.parameters()},
                                               {"family", family},
                                               {"model", model_config_to_json(model)},
                                               {"train", settings_json(train_settings)},
                                               {"seed", seed}};
              run.id = fmt::format("{}_{}_{}_s{}", enum_name(data.task), safe_name(family),
                                   hex8(hash_json(identity)), seed);
              preset.runs.push_back(std::move(run));
            }
          }
        }
      }
    }
  }
  std::set<std::string> ids;
  for (const RunSpec& run : preset.runs) {
    if (!ids.insert(run.id).second) {
      fail("{}: two runs of the grid are identical ({}); remove the duplicate values", file.string(), run.id);
    }
  }
  return preset;
}

std::vector<fs::path> shipped_presets() {
  std::vector<fs::path> found;
  for (const fs::path& dir :
       {fs::path("experiments/presets"), fs::path(LAB_SOURCE_DIR) / "experiments/presets"}) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".toml") found.push_back(entry.path());
    }
    if (!found.empty()) break;
  }
  std::sort(found.begin(), found.end());
  return found;
}

fs::path find_preset(const std::string& name_or_path) {
  std::error_code ec;
  if (fs::is_regular_file(name_or_path, ec)) return name_or_path;
  for (const fs::path& p : shipped_presets()) {
    if (p.stem() == name_or_path) return p;
  }
  std::string names;
  for (const fs::path& p : shipped_presets()) names += (names.empty() ? "" : ", ") + p.stem().string();
  fail("preset '{}': no such file and no shipped preset of that name (shipped: {})", name_or_path,
       names.empty() ? "none found" : names);
}

}  // namespace lab
