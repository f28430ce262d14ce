#pragma once
// One function per subcommand, each defined in its own cli/cmd_<name>.cpp: it registers the
// subcommand's parser and flags on `app` and returns what runs when the user chooses it.

#include "cli/app.h"

namespace lab {}  // namespace lab
