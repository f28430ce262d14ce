#pragma once
// TensorBoard event files, written and read without TensorFlow or protobuf.
//
// An event file (`events.out.tfevents.<unix seconds>.<hostname>`; TensorBoard reads every file of a
// directory whose name contains "tfevents", in name order) is a sequence of TFRecords:
//
//   uint64 length, little-endian
//   uint32 masked CRC-32C of those 8 length bytes
//   length bytes of data: one serialized tensorflow.Event protobuf
//   uint32 masked CRC-32C of the data
//
// where masked(crc) = ((crc >> 15) | (crc << 17)) + 0xa282ead8 (mod 2^32). The few protobuf fields
// this lab writes, as (field number, wire type):
//
//   Event    { wall_time (1, 64-bit double), step (2, varint int64), file_version (3, bytes),
//              summary (5, bytes: Summary), session_log (7, bytes: SessionLog) }
//   Summary  { value (1, bytes: Value), repeated }
//   Value    { tag (1, bytes), simple_value (2, 32-bit float) }
//   SessionLog { status (1, varint: START = 1) }
//
// A key is the varint (field << 3) | wire type; wire types 0 varint, 1 64-bit, 2 length-delimited,
// 5 32-bit. The first event of a file holds only wall_time and file_version = "brain.Event:2".
// Like protobuf's own serializer, zero-valued wall_time and step are left out (proto3 defaults).
//
// The reader checks both CRCs of every record and decodes the protobuf with bounds checks on every
// length, skipping fields it does not know (any wire type, groups included), so a damaged or hostile
// file is a lab::Error naming the file, the record and what is wrong, never an out-of-bounds read.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace lab {

// The TFRecord checksum: CRC-32C of `size` bytes, rotated and offset (see above).
std::uint32_t masked_crc32c(const void* data, std::size_t size);

// `data` framed as one TFRecord: length, its masked CRC, the data, its masked CRC.
std::string tfrecord(std::string_view data);

// Serialized Events (the data of one record each).
std::string tensorboard_file_version_event(double wall_time);
std::string tensorboard_scalar_event(std::string_view tag, std::int64_t step, float value, double wall_time);
std::string tensorboard_session_start_event(std::int64_t step, double wall_time);

double unix_seconds_now();  // wall_time of an event: seconds since 1970, with fractions

// Appends scalars to a new event file in `dir`. Not thread-safe; one writer per process and
// directory (a second writer in the same second and on the same host appends to the same file, which
// stays valid). Throws lab::Error naming the file when it cannot be created or written.
class TensorBoardWriter {
 public:
  // Creates `dir` if missing, opens dir/events.out.tfevents.<unix seconds>.<hostname><suffix> and
  // writes the file_version event. `suffix` (e.g. ".rank1") tells apart files of one second and host.
  explicit TensorBoardWriter(const std::filesystem::path& dir, const std::string& suffix = "");

  // One Event holding one Summary.Value with simple_value = float(value).
  void add_scalar(std::string_view tag, std::int64_t step, double value, double wall_time);
  void add_scalar(std::string_view tag, std::int64_t step, double value) {
    add_scalar(tag, step, value, unix_seconds_now());
  }
  // For a resumed run, before its first scalar: a SessionLog START at `step`. TensorBoard's Python
  // loader (EventAccumulator) then discards what earlier files logged at steps >= `step`; without it
  // it shows both the old and the repeated points. (Its Rust data server ignores the marker: there a
  // repeated step replaces a tag's later points by itself.)
  void add_session_start(std::int64_t step, double wall_time);

  void flush();  // hands the buffered records to the OS, so TensorBoard sees them
  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(std::string_view event);

  std::filesystem::path path_;
  std::ofstream out_;
};

struct TensorBoardScalar {
  std::string tag;
  std::int64_t step = 0;
  float value = 0;
  double wall_time = 0;
};

struct TensorBoardEvents {
  std::string file_version;                  // of the last event that had one; "" if none
  std::vector<TensorBoardScalar> scalars;    // every simple_value, in file order
  std::vector<std::int64_t> session_starts;  // steps of SessionLog START events, in file order
  std::size_t events = 0;                    // records in the file
};

// Parses the bytes of a whole event file. Throws lab::Error naming `source` and what is wrong:
// a truncated record, a bad length CRC, a bad data CRC or a malformed protobuf.
TensorBoardEvents parse_tensorboard_events(std::string_view bytes, const std::string& source);

// Reads and parses one event file; a lab::Error names `path` if it cannot be read or is damaged.
TensorBoardEvents read_tensorboard_events(const std::filesystem::path& path);

}  // namespace lab
