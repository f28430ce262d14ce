#include "core/tensorboard.h"

#include <bit>
#include <chrono>
#include <iterator>
#include <system_error>

#include "core/build_info.h"
#include "core/crc32c.h"
#include "core/error.h"
#include "core/read_file.h"

namespace lab {
// The helpers live in `tb` inside the anonymous namespace: in a unity build this file shares a
// translation unit with others, and names such as Field (lab::Field exists) must not collide.
namespace {
namespace tb {

constexpr char kFileVersion[] = "brain.Event:2";
constexpr int kSessionLogStart = 1;  // tensorflow.SessionLog.SessionStatus.START
constexpr int kMaxGroupDepth = 32;   // nested groups skipped before the decoder gives up

enum WireType : std::uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kBytes = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5
};

// ---- Encoding ----

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void put_little_endian(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

void put_key(std::string& out, std::uint32_t field, WireType wire) { put_varint(out, (field << 3) | wire); }

void put_bytes(std::string& out, std::uint32_t field, std::string_view bytes) {
  put_key(out, field, kBytes);
  put_varint(out, bytes.size());
  out += bytes;
}

// Event fields 1 and 2, left out when zero as protobuf's serializer does.
std::string event_header(double wall_time, std::int64_t step) {
  std::string out;
  if (std::bit_cast<std::uint64_t>(wall_time) != 0) {
    put_key(out, 1, kFixed64);
    put_little_endian(out, std::bit_cast<std::uint64_t>(wall_time), 8);
  }
  if (step != 0) {
    put_key(out, 2, kVarint);
    put_varint(out, static_cast<std::uint64_t>(step));  // negative steps take 10 bytes, as in protobuf
  }
  return out;
}

// ---- Decoding ----

std::uint64_t read_little_endian(std::string_view bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i)
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  return v;
}

struct Field {
  std::uint32_t number = 0;
  std::uint32_t wire = 0;
  std::uint64_t scalar = 0;  // a varint's value, or a fixed64 / fixed32's bits
  std::string_view bytes;    // a length-delimited field's contents
};

// Walks the fields of one protobuf message; every read is checked against the end of `bytes`.
// `where` names the file and record for the errors.
class FieldReader {
 public:
  FieldReader(std::string_view bytes, const std::string& where, const char* message)
      : bytes_(bytes), where_(where), message_(message) {}

  // The next field; false at the end of the message. Groups are skipped whole and not returned.
  bool next(Field& field) {
    while (at_ < bytes_.size()) {
      read_key(field);
      if (field.wire == kStartGroup) {
        skip_group(field.number, 1);
        continue;
      }
      if (field.wire == kEndGroup) bad("an end-group without its start-group");
      read_value(field);
      return true;
    }
    return false;
  }

 private:
  [[noreturn]] void bad(std::string_view what) const {
    fail("{}: malformed protobuf {} at byte {} of {}: {}", where_, message_, at_, bytes_.size(), what);
  }

  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (at_ >= bytes_.size()) bad("a varint runs past the end");
      const auto byte = static_cast<unsigned char>(bytes_[at_++]);
      v |= static_cast<std::uint64_t>(byte & 0x7F) << shift;  // bits past 64 are dropped, as protobuf does
      if ((byte & 0x80) == 0) return v;
    }
    bad("a varint longer than 10 bytes");
  }

  std::string_view take(std::uint64_t n) {
    if (n > bytes_.size() - at_) bad(fmt::format("a field of {} bytes runs past the end", n));
    const std::string_view out = bytes_.substr(at_, static_cast<std::size_t>(n));
    at_ += static_cast<std::size_t>(n);
    return out;
  }

  void read_key(Field& field) {
    const std::uint64_t key = varint();
    if (key >> 3 == 0 || key >> 3 > 0x1FFFFFFF) bad(fmt::format("field number {} is invalid", key >> 3));
    field.number = static_cast<std::uint32_t>(key >> 3);
    field.wire = static_cast<std::uint32_t>(key & 7);
  }

  void read_value(Field& field) {
    field.scalar = 0;
    field.bytes = {};
    switch (field.wire) {
      case kVarint:
        field.scalar = varint();
        return;
      case kFixed64:
        field.scalar = read_little_endian(take(8));
        return;
      case kBytes:
        field.bytes = take(varint());
        return;
      case kFixed32:
        field.scalar = read_little_endian(take(4));
        return;
      default:
        bad(fmt::format("wire type {} does not exist", field.wire));
    }
  }

  // Skips to the end-group that closes the start-group of field `number`.
  void skip_group(std::uint32_t number, int depth) {
    if (depth > kMaxGroupDepth) bad("groups nested too deep");
    Field field;
    while (true) {
      if (at_ >= bytes_.size()) bad("a group without its end-group");
      read_key(field);
      if (field.wire == kEndGroup) {
        if (field.number != number) bad("an end-group that closes a different field");
        return;
      }
      if (field.wire == kStartGroup)
        skip_group(field.number, depth + 1);
      else
        read_value(field);
    }
  }

  std::string_view bytes_;
  std::size_t at_ = 0;
  const std::string& where_;
  const char* message_;
};

// One Summary.Value: its tag, and whether it holds a simple_value.
struct SummaryValue {
  std::string_view tag;
  bool has_simple_value = false;
  float simple_value = 0;
};

SummaryValue decode_value(std::string_view bytes, const std::string& where) {
  SummaryValue value;
  FieldReader reader(bytes, where, "Summary.Value");
  // Protobuf's rules: a field with an unexpected wire type is an unknown field; the last one wins.
  for (Field f; reader.next(f);) {
    if (f.number == 1 && f.wire == kBytes) value.tag = f.bytes;
    if (f.number == 2 && f.wire == kFixed32) {
      value.has_simple_value = true;
      value.simple_value = std::bit_cast<float>(static_cast<std::uint32_t>(f.scalar));
    }
    // Another member of the oneof `value` (histogram, image, audio, tensor) replaces simple_value.
    if (f.number >= 3 && f.number != 7 && f.number <= 8) value.has_simple_value = false;
  }
  return value;
}

void decode_event(std::string_view bytes, const std::string& where, TensorBoardEvents& out) {
  double wall_time = 0;
  std::int64_t step = 0;
  std::vector<SummaryValue> values;  // decoded before wall_time and step may be known
  bool session_start = false;
  FieldReader reader(bytes, where, "Event");
  for (Field f; reader.next(f);) {
    if (f.number == 1 && f.wire == kFixed64) wall_time = std::bit_cast<double>(f.scalar);
    if (f.number == 2 && f.wire == kVarint) step = static_cast<std::int64_t>(f.scalar);
    if (f.number == 3 && f.wire == kBytes) out.file_version = std::string(f.bytes);
    if (f.number == 5 && f.wire == kBytes) {
      FieldReader summary(f.bytes, where, "Summary");
      for (Field v; summary.next(v);) {
        if (v.number == 1 && v.wire == kBytes) values.push_back(decode_value(v.bytes, where));
      }
    }
    if (f.number == 7 && f.wire == kBytes) {
      FieldReader log(f.bytes, where, "SessionLog");
      for (Field s; log.next(s);) {
        if (s.number == 1 && s.wire == kVarint) session_start = s.scalar == kSessionLogStart;
      }
    }
  }
  for (const SummaryValue& v : values) {
    if (v.has_simple_value) out.scalars.push_back({std::string(v.tag), step, v.simple_value, wall_time});
  }
  if (session_start) out.session_starts.push_back(step);
}

}  // namespace tb
}  // namespace

std::uint32_t masked_crc32c(const void* data, std::size_t size) {
  const std::uint32_t crc = crc32c(0, data, size);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::string tfrecord(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 16);
  tb::put_little_endian(out, data.size(), 8);
  tb::put_little_endian(out, masked_crc32c(out.data(), 8), 4);
  out += data;
  tb::put_little_endian(out, masked_crc32c(data.data(), data.size()), 4);
  return out;
}

std::string tensorboard_file_version_event(double wall_time) {
  std::string out = tb::event_header(wall_time, 0);
  tb::put_bytes(out, 3, tb::kFileVersion);
  return out;
}

std::string tensorboard_scalar_event(std::string_view tag, std::int64_t step, float value, double wall_time) {
  std::string summary_value;
  tb::put_bytes(summary_value, 1, tag);
  tb::put_key(summary_value, 2, tb::kFixed32);  // written even when 0: simple_value is a member of a oneof
  tb::put_little_endian(summary_value, std::bit_cast<std::uint32_t>(value), 4);
  std::string summary;
  tb::put_bytes(summary, 1, summary_value);
  std::string out = tb::event_header(wall_time, step);
  tb::put_bytes(out, 5, summary);
  return out;
}

std::string tensorboard_session_start_event(std::int64_t step, double wall_time) {
  std::string session_log;
  tb::put_key(session_log, 1, tb::kVarint);
  tb::put_varint(session_log, tb::kSessionLogStart);
  std::string out = tb::event_header(wall_time, step);
  tb::put_bytes(out, 7, session_log);
  return out;
}

double unix_seconds_now() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration<double>(since_epoch).count();
}

TensorBoardWriter::TensorBoardWriter(const std::filesystem::path& dir, const std::string& suffix) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail("cannot create the TensorBoard directory {}: {}", dir.string(), ec.message());
  const double now = unix_seconds_now();
  path_ =
      dir / fmt::format("events.out.tfevents.{}.{}{}", static_cast<std::int64_t>(now), host_name(), suffix);
  // Appending: a second writer of the same second adds its records after the first's, never truncates.
  out_.open(path_, std::ios::binary | std::ios::app);
  if (!out_) fail("cannot open the TensorBoard event file {} for writing", path_.string());
  write_record(tensorboard_file_version_event(now));
  flush();
}

void TensorBoardWriter::add_scalar(std::string_view tag, std::int64_t step, double value, double wall_time) {
  write_record(tensorboard_scalar_event(tag, step, static_cast<float>(value), wall_time));
}

void TensorBoardWriter::add_session_start(std::int64_t step, double wall_time) {
  write_record(tensorboard_session_start_event(step, wall_time));
}

void TensorBoardWriter::flush() {
  out_.flush();
  if (!out_) fail("cannot write the TensorBoard event file {} (disk full?)", path_.string());
}

void TensorBoardWriter::write_record(std::string_view event) {
  const std::string record = tfrecord(event);
  out_.write(record.data(), static_cast<std::streamsize>(record.size()));
  if (!out_) fail("cannot write the TensorBoard event file {} (disk full?)", path_.string());
}

TensorBoardEvents parse_tensorboard_events(std::string_view bytes, const std::string& source) {
  TensorBoardEvents out;
  std::size_t at = 0;
  while (at < bytes.size()) {
    const std::string where = fmt::format("{}: record {} at byte {}", source, out.events, at);
    const std::string_view rest = bytes.substr(at);
    if (rest.size() < 12)
      fail("{}: truncated record: {} bytes where the length and its CRC need 12", where, rest.size());
    const std::uint64_t length = tb::read_little_endian(rest.substr(0, 8));
    const auto length_crc = static_cast<std::uint32_t>(tb::read_little_endian(rest.substr(8, 4)));
    if (length_crc != masked_crc32c(rest.data(), 8)) {
      fail("{}: bad length CRC (stored {:#010x}, computed {:#010x}): the file is damaged", where, length_crc,
           masked_crc32c(rest.data(), 8));
    }
    if (rest.size() < 16 || length > rest.size() - 16) {
      fail("{}: truncated record: {} data bytes and a 4-byte CRC announced, {} bytes left", where, length,
           rest.size() - 12);
    }
    const std::string_view data = rest.substr(12, static_cast<std::size_t>(length));
    const auto data_crc =
        static_cast<std::uint32_t>(tb::read_little_endian(rest.substr(12 + data.size(), 4)));
    if (data_crc != masked_crc32c(data.data(), data.size())) {
      fail("{}: bad data CRC (stored {:#010x}, computed {:#010x}): the file is damaged", where, data_crc,
           masked_crc32c(data.data(), data.size()));
    }
    tb::decode_event(data, where, out);
    out.events++;
    at += 16 + data.size();
  }
  return out;
}

TensorBoardEvents read_tensorboard_events(const std::filesystem::path& path) {
  const std::optional<std::string> bytes = read_file(path);
  if (!bytes) fail("cannot read the TensorBoard event file {}", path.string());
  return parse_tensorboard_events(*bytes, path.string());
}

}  // namespace lab
