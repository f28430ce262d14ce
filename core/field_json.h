#pragma once
// A config struct with visit_fields() (core/fields.h) to and from JSON: one key per field, enums by
// name. The readers of config.json and the writers share this, so a field added to the list is
// written and read back without another line.

#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fields.h"

namespace lab {

// The fields that `wanted(field)` accepts (by default all), by key.
template <typename Config, typename Wanted>
nlohmann::json fields_to_json(const Config& config, Wanted wanted) {
  nlohmann::json j = nlohmann::json::object();
  visit_fields(config, [&j, &wanted]<typename T>(const T& value, const Field& field) {
    if (!wanted(field)) return;
    if constexpr (NamedEnum<T>)
      j[std::string(field.name())] = enum_name(value);
    else
      j[std::string(field.name())] = value;
  });
  return j;
}

template <typename Config>
nlohmann::json fields_to_json(const Config& config) {
  return fields_to_json(config, [](const Field&) { return true; });
}

// Reads every field of `json` into `config` (fields marked optional_in_json keep their value when
// absent). lab::Error "SOURCE: WHAT field 'NAME' ..." for a missing field, a wrong type or an unknown
// enum name.
template <typename Config>
void fields_from_json(const nlohmann::json& json, Config& config, const std::string& source,
                      std::string_view what) {
  visit_fields(config, [&]<typename T>(T& value, const Field& field) {
    const std::string key(field.name());
    const auto it = json.find(key);
    if (it == json.end()) {
      if (field.is_optional_in_json()) return;
      fail("{}: the {} config has no field '{}'", source, what, key);
    }
    try {
      if constexpr (NamedEnum<T>) {
        const std::string name = it->template get<std::string>();
        const auto parsed = enum_from_name<T>(name);
        if (!parsed) {
          fail("{}: {} field '{}' has the unknown value '{}' (known: {})", source, what, key, name,
               enum_name_list(T{}));
        }
        value = *parsed;
      } else {
        value = it->template get<T>();
      }
    } catch (const nlohmann::json::exception& e) {
      fail("{}: {} field '{}' has a wrong type ({})", source, what, key, e.what());
    }
  });
}

}  // namespace lab
