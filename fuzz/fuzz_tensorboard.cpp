// The TensorBoard event reader: any bytes as a whole file (the framing and its CRCs), and any bytes as
// the data of one correctly framed record (the protobuf decoder, which the CRCs would otherwise shield).
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/tensorboard.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string bytes = data[0] % 2 == 0 ? std::string(rest) : lab::tfrecord(rest);
  try {
    const lab::TensorBoardEvents events = lab::parse_tensorboard_events(bytes, "input");
    std::size_t total = 0;
    for (const lab::TensorBoardScalar& s : events.scalars) total += s.tag.size();
    (void)total;
  } catch (const lab::Error&) {
  }
  return 0;
}
