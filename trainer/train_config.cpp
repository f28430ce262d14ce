#include "trainer/train_config.h"

#include "core/error.h"

namespace lab {

void TrainConfig::validate() const {
  if (data_dir.empty()) fail("--data is required: a dataset directory written by `lab gen`");
  if (out_dir.empty()) fail("--out is required: the run directory to write");
  check_field_ranges(*this);
  if (device != "cpu" && device != "cuda") fail("--device must be cpu or cuda, got '{}'", device);
}

}  // namespace lab
