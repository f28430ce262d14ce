#include "core/build_info.h"

#include <unistd.h>

namespace lab {
namespace {

std::vector<std::string>& stored_command_line() {
  static std::vector<std::string> line;
  return line;
}

}  // namespace

std::string_view project_version() { return LAB_VERSION; }

void set_command_line(int argc, const char* const* argv) { stored_command_line().assign(argv, argv + argc); }

const std::vector<std::string>& command_line() { return stored_command_line(); }

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "unknown";
  return name;
}

}  // namespace lab
