#include "trainer/train_config.h"

#include "core/error.h"

namespace lab {

void TrainConfig::validate() const {
  if (data_dir.empty()) fail("--data is required: a dataset directory written by `lab gen`");
  if (out_dir.empty()) fail("--out is required: the run directory to write");
  if (batch_size < 1) fail("--batch-size must be at least 1, got {}", batch_size);
  if (steps < 0) fail("--steps must not be negative, got {}", steps);
  if (steps == 0 && !(epochs > 0)) fail("--epochs must be positive when --steps is 0, got {}", epochs);
  schedule.validate();
  if (!(weight_decay >= 0)) fail("--weight-decay must not be negative, got {}", weight_decay);
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) fail("--beta1 and --beta2 must be in [0, 1)");
  if (!(grad_clip >= 0)) fail("--grad-clip must not be negative (0 turns it off), got {}", grad_clip);
  if (log_every < 1) fail("--log-every must be at least 1, got {}", log_every);
  if (eval_every < 0 || checkpoint_every < 0)
    fail("--eval-every and --checkpoint-every must not be negative");
  if (eval_batches < 1) fail("--eval-batches must be at least 1, got {}", eval_batches);
  if (probe_every < 0) fail("--probe-every must not be negative, got {}", probe_every);
  if (keep_checkpoints < 1) fail("--keep-checkpoints must be at least 1, got {}", keep_checkpoints);
  if (device != "cpu" && device != "cuda") fail("--device must be cpu or cuda, got '{}'", device);
}

}  // namespace lab
