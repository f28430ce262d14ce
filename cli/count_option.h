#pragma once
// Count flags that accept what researchers type: 1000000, 1e6, 3.5e6, 1_000_000.

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

namespace lab {

CLI::Option* add_count_option(CLI::App* app, const std::string& name, std::uint64_t& value,
                              const std::string& help);

}  // namespace lab
