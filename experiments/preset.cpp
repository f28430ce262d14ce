#include "experiments/preset.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "core/crc32c.h"
#include "core/error.h"
#include "experiments/preset_toml.h"
#include "models/model_config_json.h"

#ifndef LAB_SOURCE_DIR
#define LAB_SOURCE_DIR "."
#endif

namespace lab {
namespace fs = std::filesystem;
using namespace preset_toml;
namespace {

// Letters, digits, '-', '.' and '_' only: safe in a directory name.
std::string safe_name(const std::string& s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.') ? c : '_';
  return out;
}

std::vector<std::string> split_key(const std::string& key) {
  std::vector<std::string> parts;
  std::size_t begin = 0;
  for (std::size_t dot = key.find('.');; dot = key.find('.', begin)) {
    parts.push_back(key.substr(begin, dot == std::string::npos ? std::string::npos : dot - begin));
    if (dot == std::string::npos) break;
    begin = dot + 1;
  }
  return parts;
}

// A word a shell user would not quote: letters, digits, '_', '-' and '.', starting with a letter.
bool bare_word(const std::string& s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

// One KEY=VALUE of the command line into the preset's table. The value is parsed as TOML (a bare word
// that is not TOML is taken as a string: norm=rms_norm); its source is "cmdline: KEY", so that a
// later error about it reads "cmdline: KEY: ..." (preset_toml::fail_at).
void apply_override(toml::table& root, const std::string& text) {
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    fail("cmdline: {}: expected KEY=VALUE, e.g. train.steps=500, seeds=[0] or models.0.d_model=[32,64]",
         text);
  }
  const std::string key = text.substr(0, eq), value = text.substr(eq + 1);
  const std::string source = std::string(kCmdlineSource) + key;
  toml::table parsed;
  try {
    parsed = toml::parse("value = " + value, std::string_view(source));
  } catch (const toml::parse_error& e) {
    if (!bare_word(value)) fail("{}: '{}' is not a TOML value ({})", source, value, e.description());
    parsed = toml::parse("value = \"" + value + "\"", std::string_view(source));
  }
  const std::vector<std::string> parts = split_key(key);
  if (std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); })) {
    fail("{}: an empty part in the key; write SECTION.KEY, e.g. train.steps=500", source);
  }
  toml::node* node = &root;
  std::string path;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    const std::string& part = parts[i];
    path += (path.empty() ? "" : ".") + part;
    if (toml::table* table = node->as_table()) {
      if (!table->contains(part)) {  // a new table, whose source names the override in later errors
        toml::table scratch = toml::parse("table = {}", std::string_view(source));
        table->insert(part, std::move(*scratch.get_as<toml::table>("table")));
      }
      node = table->get(part);
    } else if (toml::array* array = node->as_array()) {
      std::size_t index = 0;
      auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), index);
      if (array->empty()) fail("{}: the preset's {} has no entries", source, path.substr(0, path.rfind('.')));
      if (ec != std::errc() || end != part.data() + part.size() || index >= array->size()) {
        fail("{}: '{}' is not an entry of the preset's {} (0 to {})", source, path,
             path.substr(0, path.rfind('.')), array->size() - 1);
      }
      node = array->get(index);
    } else {
      fail("{}: '{}' is a value in the preset, not a table", source, path);
    }
  }
  toml::table* table = node->as_table();
  if (table == nullptr) {
    fail("{}: '{}' is {} in the preset, not a table", source, path, node->is_array() ? "a list" : "a value");
  }
  if (parts.back().empty()) {
    fail(
        "{}: '{}' names no key of a table (to change a [[models]] or [[tasks]] entry, name its key: "
        "models.0.d_model=64)",
        source, key);
  }
  parsed.get("value")->visit([&](auto& v) { table->insert_or_assign(parts.back(), std::move(v)); });
}

}  // namespace

Preset load_preset(const fs::path& file, const std::vector<std::string>& overrides) {
  toml::table root;
  try {
    root = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    if (!fs::exists(file)) fail("{}: no such preset file", file.string());
    fail("{}:{}:{}: {}", file.string(), e.source().begin.line, e.source().begin.column, e.description());
  }
  for (const std::string& text : overrides) apply_override(root, text);

  Preset preset;
  preset.file = file;
  {
    std::ostringstream resolved;
    resolved << "# " << file.string() << (overrides.empty() ? "" : " with");
    for (const std::string& text : overrides) resolved << " " << text;
    resolved << "\n# as `lab run` read it: `lab run THIS_FILE` repeats the runs.\n" << root << "\n";
    preset.resolved_toml = resolved.str();
  }
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
      if (data.task == TaskKind::phonebook && !explicit_queries) data.book.shrink_default_test_count();
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
