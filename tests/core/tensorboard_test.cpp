// The TensorBoard event writer and reader against references that do not come from this code: the
// CRC-32C check value, Events encoded by hand (and equal to what protobuf's Python serializer and
// TensorBoard's RecordWriter produce), a file written by TensorBoard's own EventFileWriter, and every
// kind of damage a disk or a hostile file could bring.
#include "core/tensorboard.h"

#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "core/crc32c.h"
#include "core/error.h"
#include "tests/support/temp_dir.h"

namespace lab::tensorboard_test {
namespace {

using namespace std::string_literals;

// The message of the lab::Error that parsing `bytes` throws; "" (and a test failure) if none.
std::string parse_error(const std::string& bytes,
                        const std::string& source = "run/tb/events.out.tfevents.1") {
  try {
    parse_tensorboard_events(bytes, source);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "parsed without an error";
  return "";
}

TEST(TensorBoard, MasksTheCrcOfTheStandardCheckInput) {
  const std::string check = "123456789";
  EXPECT_EQ(crc32c(0, check.data(), check.size()), 0xE3069283u);  // CRC-32C's published check value
  // Rotated right by 15: 0x0001C60D | 0x25060000 = 0x2507C60D; plus 0xA282EAD8 (mod 2^32) = 0xC78AB0E5,
  // which TensorBoard's own masked_crc32c(b"123456789") also gives.
  EXPECT_EQ(masked_crc32c(check.data(), check.size()), 0xC78AB0E5u);
}

TEST(TensorBoard, EncodesAScalarEventAsProtobufDoes) {
  // Event{wall_time 1.5, step 3, summary{value{tag "a", simple_value 0.25}}}, by hand:
  //   09 <1.5 as a little-endian double: 00 00 00 00 00 00 f8 3f>   field 1, wire type 1
  //   10 03                                                         field 2, varint 3
  //   2a 0a                                                         field 5, 10 bytes of Summary
  //     0a 08                                                       Summary.value, 8 bytes of Value
  //       0a 01 61                                                  Value.tag "a"
  //       15 <0.25 as a little-endian float: 00 00 80 3e>           Value.simple_value, wire type 5
  // Python's protobuf (Event.SerializeToString) gives the same 23 bytes.
  const std::string event =
      "\x09\x00\x00\x00\x00\x00\x00\xf8\x3f\x10\x03\x2a\x0a\x0a\x08\x0a\x01\x61\x15\x00\x00\x80\x3e"s;
  EXPECT_EQ(tensorboard_scalar_event("a", 3, 0.25f, 1.5), event);
  // The TFRecord: length 23 (0x17) as 8 bytes, masked CRCs as TensorBoard's RecordWriter computes them.
  EXPECT_EQ(tfrecord(event),
            "\x17\x00\x00\x00\x00\x00\x00\x00\xe7\xce\xf8\x1e"s + event + "\x2e\x69\x94\x7b"s);

  // The first event of a file: wall_time and file_version (field 3, 13 bytes).
  EXPECT_EQ(tensorboard_file_version_event(1.5),
            "\x09\x00\x00\x00\x00\x00\x00\xf8\x3f\x1a\x0d"s + "brain.Event:2");
  // Zero wall_time is left out, a negative step is a 10-byte varint, simple_value 0 is still written.
  EXPECT_EQ(tensorboard_scalar_event("x", -1, 0.0f, 0.0),
            "\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x2a\x0a\x0a\x08\x0a\x01\x78\x15\x00\x00\x00\x00"s);
  // SessionLog{status START} is field 7 of the Event.
  EXPECT_EQ(tensorboard_session_start_event(7, 2.0),
            "\x09\x00\x00\x00\x00\x00\x00\x00\x40\x10\x07\x3a\x02\x08\x01"s);
}

TEST(TensorBoard, ReadsAFileTensorBoardsOwnWriterWrote) {
  // tensorboard.summary.writer.event_file_writer.EventFileWriter (tensorboard 2.21): its first event
  // also holds source_metadata (field 10), then loss = 2.5 at step 1 (with SummaryMetadata, field 9),
  // a histogram and loss = -1.25 at step 2^40, and a LogMessage (field 6) at step 5.
  const std::string file =
      "\x48\x00\x00\x00\x00\x00\x00\x00\xfe\x92\x48\x9d\x09\x9c\x9b\x6b\x27\x29\xc5\xda\x41\x1a\x0d\x62"
      "\x72\x61\x69\x6e\x2e\x45\x76\x65\x6e\x74\x3a\x32\x52\x2e\x0a\x2c\x74\x65\x6e\x73\x6f\x72\x62\x6f"
      "\x61\x72\x64\x2e\x73\x75\x6d\x6d\x61\x72\x79\x2e\x77\x72\x69\x74\x65\x72\x2e\x65\x76\x65\x6e\x74"
      "\x5f\x66\x69\x6c\x65\x5f\x77\x72\x69\x74\x65\x72\xb3\x59\x95\xad\x22\x00\x00\x00\x00\x00\x00\x00"
      "\x78\x11\x3d\xfd\x09\x00\x00\x00\x00\x00\x80\x24\x40\x10\x01\x2a\x15\x0a\x13\x0a\x04\x6c\x6f\x73"
      "\x73\x15\x00\x00\x20\x40\x4a\x06\x12\x04\x4c\x6f\x73\x73\x19\x74\x7a\x80\x3b\x00\x00\x00\x00\x00"
      "\x00\x00\x1a\x23\xac\x5c\x09\x00\x00\x00\x00\x00\x00\x26\x40\x10\x80\x80\x80\x80\x80\x20\x2a\x29"
      "\x0a\x1a\x0a\x04\x68\x69\x73\x74\x2a\x12\x11\x00\x00\x00\x00\x00\x00\xf0\x3f\x19\x00\x00\x00\x00"
      "\x00\x00\x08\x40\x0a\x0b\x0a\x04\x6c\x6f\x73\x73\x15\x00\x00\xa0\xbf\xa1\xc0\x5e\x6d\x13\x00\x00"
      "\x00\x00\x00\x00\x00\x0c\x91\x32\x1b\x09\x00\x00\x00\x00\x00\x00\x28\x40\x10\x05\x32\x06\x08\x14"
      "\x12\x02\x68\x69\xb2\x72\xde\x7a"s;
  ASSERT_EQ(file.size(), 248u);
  const TensorBoardEvents events = parse_tensorboard_events(file, "tensorboard's file");
  EXPECT_EQ(events.events, 4u);
  EXPECT_EQ(events.file_version, "brain.Event:2");
  ASSERT_EQ(events.scalars.size(), 2u);
  EXPECT_EQ(events.scalars[0].tag, "loss");
  EXPECT_EQ(events.scalars[0].step, 1);
  EXPECT_EQ(events.scalars[0].value, 2.5f);
  EXPECT_EQ(events.scalars[0].wall_time, 10.25);
  EXPECT_EQ(events.scalars[1].tag, "loss");
  EXPECT_EQ(events.scalars[1].step, std::int64_t{1} << 40);
  EXPECT_EQ(events.scalars[1].value, -1.25f);
  EXPECT_EQ(events.scalars[1].wall_time, 11.0);
  EXPECT_TRUE(events.session_starts.empty());
}

TEST(TensorBoard, WriterRoundTripsEveryScalar) {
  test::TempDir dir;
  const auto tb = dir / "run" / "tb";  // created by the writer
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct Scalar {
    std::string tag;
    std::int64_t step;
    double value, wall_time;
  };
  const std::vector<Scalar> written = {
      {"train/loss", 0, 2.75, 1700000000.125},
      {"train/loss", 1, -0.001, 1700000001.5},
      {"lr", 1, 3e-4, 1700000001.5},
      {"train/loss", std::int64_t{1} << 40, 0.0, 1700000002.0},
      {"probe/accuracy", std::numeric_limits<std::int64_t>::max(), 1e300, 1700000003.0},  // inf as a float
      {"grad_norm", 2, nan, 1700000004.0},
      {"", -5, -7.0, 1700000005.0},
  };
  std::filesystem::path path;
  {
    TensorBoardWriter writer(tb);
    path = writer.path();
    // The name TensorBoard looks for, and the file_version event already on disk.
    EXPECT_EQ(path.parent_path(), tb);
    const std::string name = path.filename().string();  // events.out.tfevents.<10 digits>.<host>
    ASSERT_GT(name.size(), 31u) << name;
    EXPECT_EQ(name.substr(0, 20), "events.out.tfevents.");
    EXPECT_EQ(name.substr(20, 10).find_first_not_of("0123456789"), std::string::npos) << name;
    EXPECT_EQ(name[30], '.') << name;
    EXPECT_EQ(read_tensorboard_events(path).events, 1u);
    for (const Scalar& s : written) writer.add_scalar(s.tag, s.step, s.value, s.wall_time);
    writer.flush();
    EXPECT_EQ(read_tensorboard_events(path).scalars.size(), written.size()) << "flushed while open";
    writer.add_scalar("after", 9, 1.0);  // now
  }
  const TensorBoardEvents events = read_tensorboard_events(path);
  EXPECT_EQ(events.file_version, "brain.Event:2");
  EXPECT_EQ(events.events, written.size() + 2);
  ASSERT_EQ(events.scalars.size(), written.size() + 1);
  for (std::size_t i = 0; i < written.size(); ++i) {
    const TensorBoardScalar& read = events.scalars[i];
    EXPECT_EQ(read.tag, written[i].tag);
    EXPECT_EQ(read.step, written[i].step);
    EXPECT_EQ(read.wall_time, written[i].wall_time);
    const float expected = static_cast<float>(written[i].value);
    if (std::isnan(expected))
      EXPECT_TRUE(std::isnan(read.value)) << i;
    else
      EXPECT_EQ(read.value, expected) << i;
  }
  EXPECT_TRUE(std::isinf(events.scalars[4].value));
  EXPECT_EQ(events.scalars.back().tag, "after");
  EXPECT_GT(events.scalars.back().wall_time, 1.7e9);
}

TEST(TensorBoard, AResumedRunMarksItsRestartStep) {
  test::TempDir dir;
  TensorBoardWriter writer(dir.path(), ".resumed");
  EXPECT_EQ(writer.path().filename().string().substr(writer.path().filename().string().size() - 8),
            ".resumed");
  writer.add_session_start(100, 1700000000.0);
  writer.add_scalar("loss", 100, 1.0, 1700000000.0);
  writer.flush();
  const TensorBoardEvents events = read_tensorboard_events(writer.path());
  EXPECT_EQ(events.session_starts, std::vector<std::int64_t>{100});
  ASSERT_EQ(events.scalars.size(), 1u);
}

TEST(TensorBoard, SkipsUnknownFieldsOfEveryWireType) {
  std::string event = tensorboard_scalar_event("t", 4, 1.5f, 2.0);
  event += "\xa0\x06\x96\x01"s;                          // field 100, varint 150
  event += "\xa1\x06\x01\x02\x03\x04\x05\x06\x07\x08"s;  // field 100, 64-bit
  event += "\xa2\x06\x03xyz"s;                           // field 100, 3 bytes
  event += "\xa5\x06\x01\x02\x03\x04"s;                  // field 100, 32-bit
  event += "\xa3\x06\x08\x01\xab\x06\xac\x06\xa4\x06"s;  // group 100 { field 1 varint, group 101 {} }
  const TensorBoardEvents events = parse_tensorboard_events(tfrecord(event), "file");
  ASSERT_EQ(events.scalars.size(), 1u);
  EXPECT_EQ(events.scalars[0].tag, "t");
  EXPECT_EQ(events.scalars[0].step, 4);
  EXPECT_EQ(events.scalars[0].value, 1.5f);
  // A field of a known number but an unexpected wire type is an unknown field too (protobuf's rule).
  EXPECT_EQ(parse_tensorboard_events(tfrecord("\x10\x05\x11\x00\x00\x00\x00\x00\x00\x00\x00"s), "f").events,
            1u);
}

TEST(TensorBoard, DamagedFramingIsAnErrorNamingTheFileAndTheDamage) {
  const std::string file = tfrecord(tensorboard_file_version_event(1.0)) +
                           tfrecord(tensorboard_scalar_event("loss", 1, 0.5f, 2.0));
  const std::size_t second = tfrecord(tensorboard_file_version_event(1.0)).size();
  EXPECT_EQ(parse_tensorboard_events(file, "f").scalars.size(), 1u);

  std::string bad_data = file;
  bad_data[second + 20] ^= 0x01;
  std::string message = parse_error(bad_data);
  EXPECT_NE(message.find("run/tb/events.out.tfevents.1"), std::string::npos) << message;
  EXPECT_NE(message.find("bad data CRC"), std::string::npos) << message;
  EXPECT_NE(message.find("record 1"), std::string::npos) << message;

  std::string bad_length = file;
  bad_length[second] ^= 0x01;
  message = parse_error(bad_length);
  EXPECT_NE(message.find("run/tb/events.out.tfevents.1"), std::string::npos) << message;
  EXPECT_NE(message.find("bad length CRC"), std::string::npos) << message;

  std::string bad_crc = file;
  bad_crc.back() ^= 0x80;
  EXPECT_NE(parse_error(bad_crc).find("bad data CRC"), std::string::npos);

  // Every cut inside a record is reported as truncation; a cut between records is a shorter file.
  for (std::size_t size = 1; size < file.size(); ++size) {
    if (size == second) continue;
    message = parse_error(file.substr(0, size));
    EXPECT_NE(message.find("truncated record"), std::string::npos) << size << ": " << message;
    EXPECT_NE(message.find("run/tb/events.out.tfevents.1"), std::string::npos) << message;
  }
  EXPECT_EQ(parse_tensorboard_events(file.substr(0, second), "f").events, 1u);
  EXPECT_EQ(parse_tensorboard_events("", "f").events, 0u);

  // A length with a valid CRC but far beyond the file (2^64 - 1): truncated, not a huge read.
  std::string huge(8, '\xff');
  std::uint32_t crc = masked_crc32c(huge.data(), 8);
  for (int i = 0; i < 4; ++i) huge += static_cast<char>((crc >> (8 * i)) & 0xFF);
  EXPECT_NE(parse_error(huge + "abcd").find("truncated record"), std::string::npos);
}

TEST(TensorBoard, MalformedProtobufIsAnErrorNamingTheFile) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"\x2a\x05\x0a\x01"s, "runs past the end"},  // summary of 5 bytes, 2 left
      {"\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"s, "longer than 10 bytes"},
      {"\x10"s, "runs past the end"},          // a key without its value
      {"\x10\x80"s, "runs past the end"},      // an unfinished varint
      {"\x09\x00\x00"s, "runs past the end"},  // a double of 2 bytes
      {"\x00\x01"s, "field number 0"},
      {"\x0e\x01"s, "wire type 6"},
      {"\x0f\x01"s, "wire type 7"},
      {"\x0b\x08\x01"s, "without its end-group"},
      {"\x0c"s, "end-group without its start-group"},
      {"\x0b\x14"s, "closes a different field"},
      {std::string(40, '\x0b'), "nested too deep"},
      {"\x2a\x04\x0a\x02\x0a\x05"s, "Summary.Value"},  // a tag longer than its Value
  };
  for (const auto& [event, mentions] : cases) {
    const std::string message = parse_error(tfrecord(event));
    EXPECT_NE(message.find("run/tb/events.out.tfevents.1"), std::string::npos) << message;
    EXPECT_NE(message.find("malformed protobuf"), std::string::npos) << message;
    EXPECT_NE(message.find(mentions), std::string::npos) << message;
  }
}

TEST(TensorBoard, RandomDamageIsAnErrorOrAParseNeverACrash) {
  // Mutated Events framed with valid CRCs exercise the protobuf decoder's bounds; mutated files
  // (CRCs now wrong) the framing's. Run under -fsanitize=address,undefined to catch a stray read.
  const std::string event = tensorboard_scalar_event("train/loss", 123456789, -2.5f, 1700000000.5) +
                            tensorboard_session_start_event(3, 4.0);
  std::mt19937 random(7);
  int parsed = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bytes = event;
    const int flips = 1 + static_cast<int>(random() % 4);
    for (int f = 0; f < flips; ++f) bytes[random() % bytes.size()] = static_cast<char>(random());
    bytes.resize(random() % (bytes.size() + 1));
    const std::string framed = i % 2 == 0 ? tfrecord(bytes) : tfrecord(event).substr(0, random() % 60);
    try {
      parse_tensorboard_events(framed, "fuzz");
      parsed++;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("fuzz"), std::string::npos);
    }
  }
  EXPECT_GT(parsed, 0);
}

TEST(TensorBoard, UnreadableFilesAndDirectoriesAreErrors) {
  test::TempDir dir;
  EXPECT_THROW(read_tensorboard_events(dir / "missing"), Error);
  std::ofstream(dir / "file") << "x";
  EXPECT_THROW(TensorBoardWriter(dir / "file" / "tb"), Error);
  try {
    read_tensorboard_events(dir / "file");
    ADD_FAILURE() << "a 1-byte file parsed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "file").string()), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lab::tensorboard_test
