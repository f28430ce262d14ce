#include "experiments/preset_toml.h"

#include <algorithm>

#include "core/crc32c.h"

namespace lab::preset_toml {

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

const Setters<TrainConfig>& train_setters() {
  static const Setters<TrainConfig> setters = field_setters<TrainConfig>();
  return setters;
}

const Setters<ModelConfig>& model_setters() {
  static const Setters<ModelConfig> setters = field_setters<ModelConfig>();
  return setters;
}

namespace {

// A [[tasks]] entry of `task` before its keys: which fields it has depends on the task.
DataSpec spec_of(TaskKind task) {
  DataSpec d;
  d.task = d.graph.task = task;
  return d;
}

// The tasks with a field `key`: "phonebook", "shortest-path and connectivity".
std::string tasks_with_key(std::string_view key) {
  std::vector<std::string_view> tasks;
  for (const auto& entry : enum_names(TaskKind{})) {
    const DataSpec spec = spec_of(entry.value);
    visit_fields(spec, [&](const auto&, const Field& f) {
      if (f.in_presets() && f.name() == key) tasks.push_back(entry.name);
    });
  }
  std::string out;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    if (i > 0) out += i + 1 == tasks.size() ? " and " : ", ";
    out += tasks[i];
  }
  return out;
}

}  // namespace

// Every task's fields; a key sets the field of the entry's task, and a key of other tasks only is an
// error naming them.
const Setters<DataSpec>& data_setters() {
  static const Setters<DataSpec> setters = [] {
    Setters<DataSpec> all;
    for (const auto& entry : enum_names(TaskKind{})) {
      const DataSpec blank = spec_of(entry.value);
      visit_fields(blank, [&all](const auto&, const Field& field) {
        if (!field.in_presets()) return;
        all[std::string(field.name())] = [](DataSpec& spec, const Setting& s) {
          bool found = false;
          visit_fields(spec, [&]<typename T>(T& value, const Field& f) {
            if (f.in_presets() && f.name() == s.key) value = s.template as<T>(f), found = true;
          });
          if (!found) {
            fail_at(s.where(), "'{}' is a {} key; task \"{}\" has no such key", s.key, tasks_with_key(s.key),
                    enum_name(spec.task));
          }
        };
      });
    }
    return all;
  }();
  return setters;
}

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

nlohmann::json settings_json(const std::vector<Setting>& settings) {
  nlohmann::json j = nlohmann::json::object();
  for (const Setting& s : settings) {
    j[s.key] = show(*s.value);
  }
  return j;
}

std::string hex8(std::uint32_t v) { return fmt::format("{:08x}", v); }

std::uint32_t hash_json(const nlohmann::json& j) {
  const std::string text = j.dump();
  return crc32c(0, text.data(), text.size());
}

}  // namespace lab::preset_toml
