#include "cli/app.h"
#include "core/build_info.h"

int main(int argc, char** argv) {
  lab::set_command_line(argc, argv);
  return lab::run_cli(argc, argv);
}
