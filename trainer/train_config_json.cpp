#include "trainer/train_config_json.h"

#include "core/field_json.h"

namespace lab {

nlohmann::json train_config_to_json(const TrainConfig& c) {
  nlohmann::json j = fields_to_json(c);
  j["data_dir"] = c.data_dir;
  return j;
}

TrainConfig train_config_from_json(const nlohmann::json& j, const TrainConfig& flags,
                                   const std::string& source) {
  TrainConfig c;
  fields_from_json(j, c, source, "training");
  try {
    c.data_dir = j.at("data_dir").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    fail("{}: the training config has no data_dir, or not a string ({})", source, e.what());
  }
  c.out_dir = flags.out_dir;
  c.resume = true;
  return c;
}

}  // namespace lab
