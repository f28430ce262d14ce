// The dataset of a preset's [[tasks]] entry: its identity, its label and its generator.
#include <fmt/format.h>

#include "experiments/preset.h"
#include "experiments/preset_toml.h"

namespace lab {

using preset_toml::hash_json;
using preset_toml::hex8;

nlohmann::json DataSpec::parameters() const {
  nlohmann::json p = fields_to_json(*this, identifies_data);
  p["task"] = enum_name(task);
  if (task == TaskKind::two_hop) p["degree"] = two_hop.resolved_degree();  // 0 and |V| / 8 are one dataset
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
    case TaskKind::phonebook:
      return book.entries;
    case TaskKind::two_hop:
      return two_hop.train_count;
    case TaskKind::shortest_path:
    case TaskKind::connectivity:
      return graph.train_count;
  }
  return 0;
}

std::unique_ptr<Generator> DataSpec::generator() const {
  switch (task) {
    case TaskKind::phonebook:
      return std::make_unique<PhonebookGenerator>(book);
    case TaskKind::two_hop:
      return std::make_unique<TwoHopGenerator>(two_hop);
    case TaskKind::shortest_path:
    case TaskKind::connectivity:
      return std::make_unique<GraphGenerator>(graph);
  }
  return nullptr;
}

}  // namespace lab
