#include "tasks/task_kind.h"

#include <ostream>

#include "core/error.h"

namespace lab {

TaskKind parse_task(std::string_view name, std::string_view where) {
  if (auto task = enum_from_name<TaskKind>(name)) return *task;
  fail("{}: unknown task '{}'; the tasks are {}", where, name, enum_name_list(TaskKind{}));
}

std::ostream& operator<<(std::ostream& out, TaskKind task) { return out << enum_name(task); }

std::string_view accuracy_label(TaskKind task) {
  switch (task) {
    case TaskKind::phonebook:
      return "phone-book recall, exact (%)";
    case TaskKind::shortest_path:
      return "held-out shortest paths, valid (%)";
    case TaskKind::connectivity:
      return "held-out connectivity, accuracy (%)";
    case TaskKind::two_hop:
      return "held-out two-hop questions, accuracy (%)";
  }
  return "?";
}

}  // namespace lab
