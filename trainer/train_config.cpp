#include "trainer/train_config.h"

#include "core/error.h"

namespace lab {

void TrainConfig::validate() const {
  if (data_dir.empty()) fail("--data is required: a dataset directory written by `lab gen`");
  if (out_dir.empty()) fail("--out is required: the run directory to write");
  visit_fields(*this, []<typename T>(const T& value, const Field& field) {
    if constexpr (FieldNumber<T>) {
      if (std::string e = field.range_error(value); !e.empty()) fail("{} {}", field.flag(), e);
    }
  });
  if (device != "cpu" && device != "cuda") fail("--device must be cpu or cuda, got '{}'", device);
}

}  // namespace lab
