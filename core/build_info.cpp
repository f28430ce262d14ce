#include "core/build_info.h"

namespace lab {

std::string_view project_version() { return LAB_VERSION; }

}  // namespace lab
