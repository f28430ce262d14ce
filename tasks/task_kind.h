#pragma once
// Which task a dataset, a run or a result row is. One enum for the lab's tasks, with the name each
// has everywhere outside the code (dataset manifests, presets, `lab gen` subcommands, config.json,
// probe.json, results.db) and the label its plots use. Adding a task starts here: a switch over
// TaskKind then shows, by its -Wswitch warning, every place that has to learn the new task.

#include <iosfwd>
#include <span>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/fields.h"

namespace lab {

enum class TaskKind {
  phonebook,      // memorization: closed-book recall of a phone book (tasks/phonebook_task.h)
  shortest_path,  // reasoning: a shortest path on a small random graph (tasks/graph_task.h)
  connectivity,   // reasoning: are two vertices connected
  two_hop,        // reasoning: the middle two ends share (tasks/two_hop_task.h); |V| is the width knob
};

// The names on disk and on the command line. Never rename one: run ids hash them.
inline constexpr EnumName<TaskKind> kTaskNames[] = {{"phonebook", TaskKind::phonebook},
                                                    {"shortest-path", TaskKind::shortest_path},
                                                    {"connectivity", TaskKind::connectivity},
                                                    {"two-hop", TaskKind::two_hop}};
constexpr std::span<const EnumName<TaskKind>> enum_names(TaskKind) { return kTaskNames; }

// A task is written to JSON by its name (nlohmann would write an enum's integer otherwise).
inline void to_json(nlohmann::json& j, TaskKind task) { j = enum_name(task); }

// ... and to a stream by its name too (test failure messages).
std::ostream& operator<<(std::ostream& out, TaskKind task);

// The graph tasks' prompts are graphs: edges and a query (s, t) in the format of tasks/graph_task.h.
constexpr bool is_graph_task(TaskKind task) {
  switch (task) {
    case TaskKind::phonebook:
      return false;
    case TaskKind::shortest_path:
    case TaskKind::connectivity:
    case TaskKind::two_hop:
      return true;
  }
  return false;
}

// The task named `name`; lab::Error naming `where` (a file, a flag) and the known tasks otherwise.
TaskKind parse_task(std::string_view name, std::string_view where);

// The y-axis label of the task's accuracy plots: what its headline metric measures.
std::string_view accuracy_label(TaskKind task);

}  // namespace lab
