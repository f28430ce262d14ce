// The safetensors reader and writer against the format's byte layout written out by hand (the
// reference's own example), and every malformed file a damaged disk or a hostile user could hand it.
#include "core/safetensors.h"

#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "core/error.h"

namespace lab {
namespace {

// An 8-byte little-endian length, then the header text, then the data.
std::string file_of(const std::string& header, const std::string& data) {
  std::string out;
  for (int i = 0; i < 8; ++i) out += static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  return out + header + data;
}

std::string int32s(std::initializer_list<std::int32_t> values) {
  std::string out;
  for (std::int32_t v : values) out.append(reinterpret_cast<const char*>(&v), 4);
  return out;
}

TEST(Safetensors, ReadsTheFormatsOwnExample) {
  // The example of the format's README: a 2 x 2 I32 tensor and a metadata string.
  const std::string header =
      R"({"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]},"__metadata__":{"foo":"bar"}})";
  const std::string bytes = file_of(header, int32s({1, 2, 3, 4}));
  SafetensorsFile file = parse_safetensors(bytes, "example");
  ASSERT_EQ(file.tensors.size(), 1u);
  const SafetensorsTensor& t = file.tensors[0];
  EXPECT_EQ(t.name, "test");
  EXPECT_EQ(t.dtype, "I32");
  EXPECT_EQ(t.shape, (std::vector<std::int64_t>{2, 2}));
  ASSERT_EQ(t.bytes.size(), 16u);
  std::int32_t values[4];
  std::memcpy(values, t.bytes.data(), 16);
  EXPECT_EQ(values[3], 4);
  EXPECT_EQ(file.metadata.at("foo"), "bar");
  EXPECT_EQ(file.find("missing"), nullptr);
}

TEST(Safetensors, WritesTheLayoutTheFormatSpecifies) {
  SafetensorsWriter writer;
  const float a[3] = {1.5f, -2.0f, 0.25f};
  const std::int64_t b = 42;
  writer.add("a", "F32", {3}, a, sizeof(a));
  writer.add("b", "I64", {}, &b, sizeof(b));
  writer.set_metadata("format", "x");
  const std::string bytes = writer.serialize();

  std::uint64_t length = 0;
  std::memcpy(&length, bytes.data(), 8);
  EXPECT_EQ(length % 8, 0u) << "the header is padded to 8 bytes";
  const std::string header = bytes.substr(8, length);
  // Sorted keys, offsets in the order added, padding with spaces.
  const std::string expected =
      R"({"__metadata__":{"format":"x"},"a":{"data_offsets":[0,12],"dtype":"F32","shape":[3]},)"
      R"("b":{"data_offsets":[12,20],"dtype":"I64","shape":[]}})";
  EXPECT_EQ(header.substr(0, expected.size()), expected);
  EXPECT_EQ(header.find_first_not_of(' ', expected.size()), std::string::npos);
  EXPECT_EQ(bytes.size(), 8 + length + 20);
  EXPECT_EQ(bytes.substr(8 + length, 12), std::string(reinterpret_cast<const char*>(a), 12));

  // Round trip, and the same input gives the same bytes.
  SafetensorsFile file = parse_safetensors(bytes, "written");
  ASSERT_NE(file.find("b"), nullptr);
  EXPECT_TRUE(file.find("b")->shape.empty());
  std::int64_t read_b = 0;
  std::memcpy(&read_b, file.find("b")->bytes.data(), 8);
  EXPECT_EQ(read_b, 42);
  EXPECT_EQ(file.metadata.at("format"), "x");
  SafetensorsWriter again;
  again.add("a", "F32", {3}, a, sizeof(a));
  again.add("b", "I64", {}, &b, sizeof(b));
  again.set_metadata("format", "x");
  EXPECT_EQ(again.serialize(), bytes);
}

TEST(Safetensors, TheWriterRefusesBytesThatDoNotMatchTheShape) {
  SafetensorsWriter writer;
  const float a[3] = {};
  EXPECT_THROW(writer.add("a", "F32", {4}, a, sizeof(a)), std::invalid_argument);
  EXPECT_THROW(writer.add("a", "Q8", {3}, a, sizeof(a)), std::invalid_argument);
  EXPECT_THROW(writer.add("__metadata__", "F32", {3}, a, sizeof(a)), std::invalid_argument);
}

TEST(Safetensors, EveryMalformedFileIsAnErrorNamingIt) {
  const std::string data = int32s({1, 2, 3, 4});
  auto tensor = [](const std::string& fields) { return R"({"t":{)" + fields + "}}"; };
  struct Case {
    std::string bytes;
    std::string mentions;
  };
  const std::string good = R"("dtype":"I32","shape":[2,2],"data_offsets":[0,16])";
  std::string huge_length = file_of(tensor(good), data);
  huge_length[5] = 1;  // a header length of ~1 TB
  const Case cases[] = {
      {"", "too short"},
      {"1234567", "too short"},
      {huge_length, "truncated"},
      {file_of(tensor(good), data).substr(0, 20), "truncated"},
      {file_of("{not json", data), "not valid JSON"},
      {file_of("[1,2]", data), "not a JSON object"},
      {file_of(R"({"t":5})", data), "not an object"},
      {file_of(tensor(R"("dtype":"I32","shape":[2,2])"), data), "needs dtype, shape and data_offsets"},
      {file_of(tensor(R"("dtype":"Q4","shape":[2,2],"data_offsets":[0,16])"), data), "dtype"},
      {file_of(tensor(R"("dtype":"I32","shape":[2,-2],"data_offsets":[0,16])"), data), "dimension"},
      {file_of(tensor(R"("dtype":"I32","shape":"2x2","data_offsets":[0,16])"), data), "shape"},
      {file_of(tensor(R"("dtype":"I32","shape":[2,2],"data_offsets":[0])"), data), "data_offsets"},
      {file_of(tensor(R"("dtype":"I32","shape":[2,2],"data_offsets":[8,4])"), data), "outside"},
      {file_of(tensor(R"("dtype":"I32","shape":[2,2],"data_offsets":[0,32])"), data), "outside"},
      {file_of(tensor(R"("dtype":"I32","shape":[2,3],"data_offsets":[0,16])"), data), "do not span"},
      // 2^31 x 2^31 x 2^31 x 4 bytes overflows 64 bits
      {file_of(tensor(R"("dtype":"I32","shape":[2147483648,2147483648,2147483648],"data_offsets":[0,16])"),
               data),
       "do not span"},
      {file_of(R"({"a":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},)"
               R"("b":{"dtype":"I32","shape":[2],"data_offsets":[4,12]}})",
               data),
       "overlap or leave a gap"},
      {file_of(tensor(R"("dtype":"I32","shape":[2],"data_offsets":[8,16])"), data), "overlap or leave a gap"},
      {file_of(tensor(R"("dtype":"I32","shape":[3],"data_offsets":[0,12])"), data), "trailing bytes"},
      {file_of(R"({"__metadata__":{"n":1}})", ""), "not a string"},
      {file_of(R"({"__metadata__":[]})", ""), "__metadata__"},
  };
  for (const Case& c : cases) {
    try {
      parse_safetensors(c.bytes, "file.safetensors");
      ADD_FAILURE() << "accepted; expected: " << c.mentions;
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("file.safetensors"), std::string::npos) << message;
      EXPECT_NE(message.find(c.mentions), std::string::npos) << message;
    }
  }
  // An empty file of tensors (only the header) is valid.
  EXPECT_NO_THROW(parse_safetensors(file_of("{}      ", ""), "empty"));
}

}  // namespace
}  // namespace lab
