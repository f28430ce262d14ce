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

const Setters<DataSpec>& data_setters() {
  auto random_graph_only = [](const Setting& s, const DataSpec& d) {
    if (d.task != TaskKind::shortest_path && d.task != TaskKind::connectivity) {
      fail_at(s.where(),
              "'{}' is a key of the random-graph tasks (shortest-path, connectivity); task \"{}\" has "
              "no such key",
              s.key, enum_name(d.task));
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
         d.graph.train_count = d.two_hop.train_count =
             static_cast<std::uint64_t>(s.integer(1, 1'000'000'000));
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
